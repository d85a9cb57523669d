"""Commands over the schema's past: `compare`, `snapshot`, `snapshots` (and `history --changes` in `info`)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from schemasync.cli.app import app, out, uses_settings
from schemasync.config import Loaded

if TYPE_CHECKING:
    import psycopg

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]


def _print(text: str, style: str | None = None) -> None:
    out.print(text, style=style, markup=False, highlight=False, soft_wrap=True)


@app.command("compare", rich_help_panel="Look")
@uses_settings(dev_url=True)
def compare_command(
    loaded: Loaded,
    older: Annotated[
        str | None,
        typer.Argument(
            help="The older side: a version (1.4.0, version:1.4.0), a schema_versions row (12, id:12), a snapshot "
            "label (label:NAME) or id (snapshot:N), latest, live, models, or a snapshot file. Default: latest.",
            show_default=False,
        ),
    ] = None,
    newer: Annotated[
        str | None, typer.Argument(help="The newer side, named the same way. Default: live.", show_default=False)
    ] = None,
    json_output: JsonOpt = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print Markdown (for pull requests).")] = False,
) -> None:
    """Show every difference between two schemas: recorded versions, snapshots, the live database, the models, files."""
    from schemasync import db, engine  # lazy: start-up (psycopg, the diff, the models' DDL)
    from schemasync.history import comparison, comparison_report, snapshots  # lazy: start-up (psycopg, the diff)

    settings = loaded.settings
    older_ref = older or comparison.LATEST
    newer_ref = newer or comparison.LIVE
    with contextlib.ExitStack() as stack:
        conn: psycopg.Connection | None = None
        target: db.Database | None = None
        if not all(comparison.looks_like_path(r) for r in (older_ref, newer_ref)):
            target = db.resolve(settings, dict(loaded.sources))
            conn = stack.enter_context(db.session(target, settings))
            db.set_timeouts(conn, lock_timeout=settings.lock_timeout, statement_timeout=settings.statement_timeout)
        bound = conn

        def live() -> comparison.Schema:
            assert bound is not None
            return snapshots.without_own_tables(engine.inspect_current(bound, settings))

        def models() -> tuple[comparison.Schema, str]:
            assert bound is not None
            return engine.load_models(bound, settings).desired, str(settings.models)

        display = target.display if target else "the database"
        sides = [
            comparison.resolve(ref, conn=conn, live=live, models=models, display=display)
            for ref in (older_ref, newer_ref)
        ]
    result = comparison.compare(sides[0], sides[1], settings)
    if json_output:
        out.print_json(json.dumps(comparison_report.to_json(result), default=str))
    elif markdown:
        out.print(comparison_report.markdown(result), markup=False, highlight=False, soft_wrap=True, end="")
    else:
        for text, style in comparison_report.lines(result):
            _print(text, style)


@app.command("snapshot", rich_help_panel="Change")
@uses_settings(dev_url=True)
def snapshot_command(
    loaded: Loaded,
    label: Annotated[
        str | None,
        typer.Option("--label", "-l", help="A name to find it by later (schemasync compare NAME).", show_default=False),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Also write it to this file (.json, or .json.gz compressed).", show_default=False
        ),
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """Record the database's schema as it is now, labelled, in schema_snapshots (and optionally a file)."""
    from schemasync import db  # lazy: start-up (psycopg)
    from schemasync.history import snapshots, versions  # lazy: start-up (psycopg)
    from schemasync.schema.inspect import inspect  # lazy: start-up (the catalog queries, the schema value)

    settings = loaded.settings
    if label is not None:
        snapshots.check_label(label)
    target = db.resolve(settings, dict(loaded.sources))
    with db.session(target, settings) as conn:
        db.set_timeouts(conn, lock_timeout=settings.lock_timeout, statement_timeout=settings.statement_timeout)
        with conn.transaction():
            schema = snapshots.without_own_tables(inspect(conn)).sorted()
            latest = versions.latest(conn)
            at = latest.schema_version if latest else None
            snapshot_id = snapshots.take(conn, label=label, schema_version=at, schema=schema)
            info = snapshots.find(conn, snapshots.sql.SQL("id = %s"), (snapshot_id,))[0]
    if output is not None:
        snapshots.write_file(
            output,
            schema,
            label=label,
            snapshot_id=snapshot_id,
            schema_version=at,
            database=target.display,
            taken_at=info.taken_at.isoformat() if info.taken_at else None,
        )
    if json_output:
        out.print_json(json.dumps({**info.to_json(), "file": str(output) if output else None}, default=str))
        return
    named = f" {label!r}" if label else ""
    _print(
        f"Snapshot {snapshot_id}{named} of {target.display} recorded ({len(schema.tables)} tables, "
        f"at version {at or 'none recorded'})" + (f"; written to {output}" if output else "") + ".",
        "green",
    )
    _print(f"Compare it later with: schemasync compare {label or f'snapshot:{snapshot_id}'} live")


@app.command("snapshots", rich_help_panel="Look")
@uses_settings
def snapshots_command(
    loaded: Loaded,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most this many.")] = 20,
    json_output: JsonOpt = False,
) -> None:
    """Recorded schema snapshots, newest first: one per recorded version, plus the labelled ones."""
    from schemasync import db  # lazy: start-up (psycopg)
    from schemasync.history import snapshots  # lazy: start-up (psycopg)

    settings = loaded.settings
    target = db.resolve(settings, dict(loaded.sources))
    with db.session(target, settings) as conn:
        rows = snapshots.listing(conn, limit)
    if json_output:
        out.print_json(json.dumps([r.to_json() for r in rows], default=str))
        return
    if not rows:
        _print(
            "No snapshots recorded yet: every recorded version takes one; schemasync snapshot --label NAME takes one now."
        )
        return
    table = Table(title=f"schema_snapshots on {escape(target.display)}", title_justify="left")
    for name in ("id", "label", "version", "version row", "taken at (UTC)", "by", "size"):
        table.add_column(name, overflow="fold")
    for r in rows:
        cells = (
            str(r.id),
            r.label or "",
            r.schema_version or "",
            str(r.version_id) if r.version_id is not None else "",
            f"{r.taken_at:%Y-%m-%d %H:%M:%S}" if r.taken_at else "",
            r.taken_by or "",
            f"{(r.size_bytes or 0) / 1024:,.1f} kB",
        )
        table.add_row(*(escape(c) for c in cells))
    out.print(table)
