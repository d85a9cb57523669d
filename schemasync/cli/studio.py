"""`schemasync studio`: the schema, its drift, history and backups in a read-only local web app.

The web stack (Starlette, Jinja2, uvicorn) is imported inside the command, so `status` and `--help`
never pay for it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from schemasync.cli.app import app, uses_settings
from schemasync.config import Loaded

DEFAULT_PORT = 4983


@app.command(rich_help_panel="Look")
@uses_settings(dev_url=True)
def studio(
    loaded: Loaded,
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port to serve on (0: any free port).")
    ] = DEFAULT_PORT,
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help="Address to serve on. Anything but loopback lets other machines read the schema and data: "
            "a warning is printed.",
        ),
    ] = "127.0.0.1",
    open_browser: Annotated[bool, typer.Option("--open", help="Open the studio in the default web browser.")] = False,
) -> None:
    """Look at the schema, drift, history and backups in the browser; read-only (the guide's db:studio)."""
    from schemasync.studio import server  # lazy: start-up (Starlette, uvicorn, the engine)

    server.run(loaded, host=host, port=port, open_browser=open_browser)
