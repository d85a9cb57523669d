"""`introspect`: models for an existing database (the engine side is `schemasync.codegen`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from schemasync.cli.app import app, out, uses_settings
from schemasync.config import Loaded
from schemasync.errors import ConfigError


def _print(text: str, style: str | None = None) -> None:
    out.print(text, style=style, markup=False, highlight=False, soft_wrap=True)


@app.command(rich_help_panel="Code")
@uses_settings
def introspect(
    loaded: Loaded,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the models to this file (default: print them).", show_default=False),
    ] = None,
    schema: Annotated[
        list[str] | None,
        typer.Option(
            "--schema", help="Schemas to read (repeatable; default: public, or include_schemas).", show_default=False
        ),
    ] = None,
    table: Annotated[
        list[str] | None,
        typer.Option("--table", help="Only these tables (repeatable; default: all).", show_default=False),
    ] = None,
) -> None:
    """Write typed SQLAlchemy 2 declarative models (Mapped[...]) for the tables of an existing database."""
    from schemasync import db  # lazy: start-up (psycopg)
    from schemasync.codegen import introspect as make_models  # lazy: start-up (SQLAlchemy, sqlacodegen)

    settings = loaded.settings
    target = db.resolve(settings, dict(loaded.sources))
    schemas = tuple(schema or settings.include_schemas or ("public",))
    text = make_models(target, settings, schemas=schemas, tables=tuple(table or ()))
    if output is None:
        out.print(text, markup=False, highlight=False, soft_wrap=True, end="")
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"{output} cannot be written: {exc.strerror or exc}.", "Pick a writable --output path."
        ) from None
    _print(f"Wrote models for {target.display} to {output}.", "green")
    module = output.stem
    _print(f"Check them against the database with: schemasync check --models {module}:Base")
