"""The console-script entry point: run the app, turning every failure into a message and an exit code.

Apart from `app.py` because it imports every command module (`commands.py`), and those import `app.py`.
"""

from __future__ import annotations

import sys

import typer

from schemasync import secrets
from schemasync.cli import commands  # noqa: F401  (registers every command on `app`)
from schemasync.cli.app import app, enable_debug, err, escape_markup, fail, loaded_debug, setup_logging
from schemasync.errors import ExitCode, SchemasyncError


def main() -> None:
    """Console-script entry point: run the app, turning every failure into a message and an exit code."""
    setup_logging()
    if "--debug" in sys.argv:
        enable_debug()
    try:
        code = app(standalone_mode=False)
    except SchemasyncError as exc:
        if loaded_debug():
            err.print_exception()
        fail(exc)
    except KeyboardInterrupt:
        err.print("Interrupted; nothing further was changed.")
        raise SystemExit(int(ExitCode.INTERRUPTED)) from None
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors and genuine bugs
        _unexpected(exc)
    raise SystemExit(code if isinstance(code, int) else 0)


def _unexpected(exc: Exception) -> None:
    if isinstance(exc, typer.Abort):
        err.print("Aborted; nothing was changed.")
        raise SystemExit(int(ExitCode.REFUSED))
    if isinstance(exc, typer.TyperException) and hasattr(exc, "show"):  # Typer's (vendored click) usage errors
        exc.show(file=sys.stderr)
        code = int(getattr(exc, "exit_code", 1))
        raise SystemExit(int(ExitCode.USAGE) if code == 2 else code)
    if loaded_debug():
        err.print_exception()
    err.print(
        f"[bold red]Error:[/] unexpected {type(exc).__name__}: {escape_markup(secrets.scrub(str(exc)))}. "
        "This is a bug in schemasync; run again with --debug and report the traceback.",
        soft_wrap=True,
    )
    raise SystemExit(int(ExitCode.ERROR))
