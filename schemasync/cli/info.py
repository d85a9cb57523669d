"""Commands that look and record the baseline: `status`, `history`, `setup`, `config`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from schemasync.appversion import parse_version
from schemasync.cli.app import app, out, uses_settings
from schemasync.config import Loaded, describe
from schemasync.errors import ConfigError
from schemasync.units import human_size

if TYPE_CHECKING:
    from schemasync.history.versions import VersionRow
    from schemasync.inventory import Inventory

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for machines instead of the table.")]


def app_version_of(loaded: Loaded, *, required: bool) -> str | None:
    """The app version, validated, or None when it is unknown and not required."""
    version = loaded.settings.app_version
    if version is None and not required:
        return None
    parse_version(version, loaded.source_of("app_version"))
    return version


@app.command(rich_help_panel="Look")
@uses_settings(dev_url=True)
def status(
    loaded: Loaded,
    json_output: JsonOpt = False,
    quick: Annotated[bool, typer.Option("--quick", help="Skip comparing the schema with the models.")] = False,
) -> None:
    """Where the database stands: versions, tables, rows, keys, indexes, and whether it matches the models."""
    from schemasync import db, inventory  # lazy: start-up (psycopg)
    from schemasync.history import versions  # lazy: start-up (psycopg)

    settings = loaded.settings
    app_version = app_version_of(loaded, required=False)
    target = db.resolve(settings, dict(loaded.sources))
    with db.session(target, settings) as conn:
        db.set_timeouts(conn, lock_timeout=settings.lock_timeout, statement_timeout=max(settings.statement_timeout, 30))
        inv = inventory.take(conn, settings.include_schemas or None)
        has_table = versions.table_columns(conn) is not None
        latest = versions.latest(conn) if has_table else None
        schema = None if quick else _schema_state(conn, settings)
    db_version = latest.schema_version if latest else None
    relation = None
    if app_version and db_version:
        relation = versions.relation(
            parse_version(app_version, loaded.source_of("app_version")),
            parse_version(db_version, f"schema_versions row {latest.id if latest else '?'}"),
        )
    elif app_version:
        relation = versions.Relation.UNRECORDED
    report: dict[str, Any] = {
        "database": target.display,
        "environment": settings.env,
        "app_version": app_version,
        "app_version_source": loaded.source_of("app_version"),
        "database_version": db_version,
        "last_updated": latest.applied_at.isoformat() if latest and latest.applied_at else None,
        "version_state": str(relation) if relation else None,
        "schema_versions_table": has_table,
        **inv.to_json(),
        "rows_exact": inv.rows_are_exact,
        "schema": schema,
    }
    if json_output:
        out.print_json(json.dumps(report, default=str))
        return
    _print_status(report, inv)


def _schema_state(conn: Any, settings: Any) -> dict[str, Any] | None:
    if not settings.models:
        return None  # nothing to compare with: the diff and the planner are not even imported
    from schemasync import engine  # lazy: start-up (the diff, the planner; the models pull in SQLAlchemy)

    return engine.schema_state(conn, settings)


def _print_status(report: dict[str, Any], inv: Inventory) -> None:
    from schemasync.history import versions  # lazy: start-up (psycopg)

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    state_styles = {
        str(versions.Relation.IN_STEP): "[green]in step[/]",
        str(versions.Relation.APP_AHEAD): "[yellow]app ahead: sync needed[/]",
        str(versions.Relation.DB_AHEAD): "[red]database ahead of the app (downgrade)[/]",
        str(versions.Relation.UNRECORDED): "[yellow]no version recorded: run schemasync setup[/]",
    }
    rows_note = (
        "exact"
        if inv.rows_are_exact
        else f"exact for {inv.rows_exact_tables:,} tables, planner estimate for {inv.rows_estimated_tables:,} others"
    )
    grid.add_row("Database", f"{escape(report['database'])}  (PostgreSQL {escape(inv.server_version.split()[0])})")
    grid.add_row("Environment", escape(report["environment"]))
    grid.add_row(
        "App version",
        f"{escape(report['app_version'] or '') or '[dim]unknown[/]'}  [dim]({escape(report['app_version_source'])})[/]",
    )
    grid.add_row("Database version", escape(report["database_version"] or "") or "[dim]none recorded[/]")
    grid.add_row("Last updated", (report["last_updated"] or "-").replace("T", " ")[:19])
    grid.add_row("Versions", state_styles.get(report["version_state"] or "", "[dim]unknown (no app version)[/]"))
    grid.add_row(
        "Tables", f"{inv.tables:,}" + (f"  [dim]in {escape(', '.join(inv.schemas))}[/]" if inv.schemas else "")
    )
    grid.add_row("Rows", f"{inv.rows:,}  [dim]({rows_note})[/]")
    grid.add_row("Foreign keys", f"{inv.foreign_keys:,}")
    grid.add_row("Indexes", f"{inv.indexes:,}")
    grid.add_row("Size", human_size(inv.size_bytes))
    grid.add_row("Schema", _schema_text(report["schema"]))
    if report["schema"] is not None:
        grid.add_row("Models read in", escape(report["schema"]["dev_database"]))
    grid.add_row(
        "schema_versions",
        "[green]present[/]" if report["schema_versions_table"] else "[yellow]missing: run schemasync setup[/]",
    )
    out.print(grid)


def _schema_text(state: dict[str, Any] | None) -> str:
    if state is None:
        return "[dim]not compared (no models configured, or --quick)[/]"
    if state["error"]:
        return f"[red]unknown: {escape(state['error'])}[/]"
    left = [f"[red]model error: {escape(e)}[/]" for e in state.get("model_errors", ())] + [
        f"[red]unmanaged-declared: {escape(u)}[/]" for u in state.get("unmanaged_declared", ())
    ]
    if state["in_sync"]:
        return "[green]matches the models[/]"
    n = state["changes"]
    pending = f"[yellow]{n} change{'s' if n != 1 else ''} pending: run schemasync diff[/]"
    return "\n".join([pending, *left]) if n or not left else "\n".join(left)


@app.command(rich_help_panel="Look")
@uses_settings
def history(
    loaded: Loaded,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most this many rows.")] = 20,
    json_output: JsonOpt = False,
    changes: Annotated[
        bool, typer.Option("--changes", help="Show what changed at each version (from the schema snapshots).")
    ] = False,
) -> None:
    """Recorded versions, newest first: who changed what, when, from which backup."""
    from schemasync import db  # lazy: start-up (psycopg)
    from schemasync.history import versions  # lazy: start-up (psycopg)

    target = db.resolve(loaded.settings, dict(loaded.sources))
    changed: dict[int, tuple[str, ...] | None] = {}
    with db.session(target, loaded.settings) as conn:
        exists = versions.table_columns(conn) is not None
        rows = versions.history(conn, limit + 1 if changes else limit) if exists else []
        if changes and rows:
            from schemasync.history import snapshots  # lazy: only for --changes (the snapshots' diff)
            from schemasync.studio.history import entries  # lazy: only for --changes (the snapshots' diff)

            changed = {e.row.id: e.changes for e in entries(rows, snapshot=snapshots.lookup(conn, rows))}
        rows = rows[:limit]
    if json_output:
        listed = [r.to_json() | ({"schema_changes": changed.get(r.id)} if changes else {}) for r in rows]
        out.print_json(json.dumps(listed, default=str))
        return
    if not exists:
        out.print("No schema_versions table in this database yet: run [bold]schemasync setup[/] to start the history.")
        return
    table = Table(title=f"schema_versions on {escape(target.display)}", title_justify="left")
    for name in ("id", "version", "status", "applied at (UTC)", "env", "by", "description"):
        table.add_column(name, overflow="fold")
    for r in rows:
        who = (r.approved_by and f"{r.applied_by} (approved by {r.approved_by})") or r.applied_by
        cells = (
            str(r.id),
            r.schema_version or "",
            r.status or "",
            f"{r.applied_at:%Y-%m-%d %H:%M:%S}" if r.applied_at else "",
            r.environment or "",
            who or "",
            r.description or r.notes or "",
        )
        table.add_row(*(escape(c) for c in cells))
    # A list reads better than a table whose cells hold paragraphs: with the changes, or where the terminal is
    # too narrow for seven columns (the description would be folded a few letters at a time).
    if changes or out.width < NARROW:
        _print_list(rows, changed if changes else None)
        return
    out.print(table)


NARROW = 110  # columns below which history prints a list instead of a table


def _print_list(rows: list[VersionRow], changed: dict[int, tuple[str, ...] | None] | None) -> None:
    """One line per version, then its schema changes (`changed`) or, without them, its description."""
    for r in rows:
        when = f"{r.applied_at:%Y-%m-%d %H:%M:%S}" if r.applied_at else "?"
        who = (r.approved_by and f"{r.applied_by} (approved by {r.approved_by})") or r.applied_by or ""
        out.print(
            f"[bold]#{r.id} {escape(r.schema_version or '')}[/] {escape(r.status or '')}  {when}  "
            f"{escape(r.environment or '')}  {escape(who)}"
            + (f"  [dim]{escape(r.migration_file)}[/]" if r.migration_file else ""),
            soft_wrap=True,
        )
        if changed is None:
            if r.description or r.notes:
                out.print(f"    {escape(r.description or r.notes or '')}", soft_wrap=True)
            continue
        found = changed.get(r.id)
        if found is None:
            out.print("    [dim](no earlier snapshot to compare with)[/]")
        for line in found or ():
            out.print(f"    {escape(line)}", soft_wrap=True)


AllowDowngrade = Annotated[
    bool, typer.Option("--allow-downgrade", help="Allow recording a version older than the database's.")
]


@app.command(rich_help_panel="Change")
@uses_settings
def setup(loaded: Loaded, allow_downgrade: AllowDowngrade = False) -> None:
    """Create schema_versions (or adapt an older layout) and record the initial version (db:schema-setup)."""
    from schemasync import db  # lazy: start-up (psycopg)
    from schemasync.history import versions  # lazy: start-up (psycopg)

    settings = loaded.settings
    app_version = app_version_of(loaded, required=True)
    assert app_version is not None
    target = db.resolve(settings, dict(loaded.sources))
    with db.session(target, settings, autocommit=False) as conn:
        db.set_timeouts(conn, lock_timeout=settings.lock_timeout, statement_timeout=settings.statement_timeout)
        with db.advisory_lock(conn, target, settings.advisory_lock_timeout):
            with conn.transaction():
                adaptation = versions.ensure_table(conn)
                latest = versions.latest(conn)
                if latest is not None:
                    from schemasync.plan import policy  # lazy: start-up (the plan package, off the `status` path)

                    policy.refuse_downgrade(app_version, latest.schema_version, allow=allow_downgrade, action="setup")
                inserted = None
                if adaptation.created or latest is None:
                    inserted = versions.record(
                        conn,
                        versions.Record(
                            schema_version=app_version,
                            app_version=app_version,
                            status=versions.Status.INITIAL,
                            environment=settings.env,
                            description="Initial version recorded by schemasync setup",
                        ),
                    )
            conn.commit()
    if inserted is not None:
        out.print(
            f"[green]Recorded[/] version {escape(app_version)} in schema_versions on {escape(target.display)} ({settings.env})."
        )
    elif adaptation.changed:
        out.print(
            f"schema_versions on {escape(target.display)} is up to date; "
            f"the database is at version {escape(latest.schema_version or '?') if latest else '?'}."
        )
    else:
        out.print(
            f"Nothing to do: schema_versions on {escape(target.display)} is already set up "
            f"(version {escape(latest.schema_version or '?') if latest else '?'})."
        )


@app.command("config", rich_help_panel="Look")
@uses_settings(dev_url=True)
def show_config(loaded: Loaded, json_output: JsonOpt = False) -> None:
    """Print the resolved settings and where each came from; secrets are masked."""
    from schemasync import db  # lazy: start-up (psycopg)

    rows = describe(loaded)
    if json_output:
        out.print_json(json.dumps({name: {"value": value, "source": source} for name, value, source in rows}))
        return
    table = Table(title="schemasync settings", title_justify="left")
    table.add_column("setting", style="bold")
    table.add_column("value", overflow="fold")
    table.add_column("from", style="dim")
    for name, value, source in rows:
        table.add_row(name, escape(value), escape(source))
    out.print(table)
    try:
        target = db.resolve(loaded.settings, dict(loaded.sources), start_embedded=False)
        out.print(f"Database: {escape(target.display)} [dim]({escape(target.origin)})[/]")
    except ConfigError:
        out.print(
            "Database: [dim]none configured: commands use the embedded PostgreSQL in[/] "
            + str(loaded.settings.embedded_dir)
        )
    out.print(f"Models read in: {escape(_dev_database_text(loaded))}")


def _dev_database_text(loaded: Loaded) -> str:
    """Which dev database the looks use; the default depends on the target, which `status` names for sure."""
    from schemasync import db  # lazy: start-up (psycopg)
    from schemasync.db import embedded  # lazy: start-up (psycopg)
    from schemasync.schema import devdb  # lazy: start-up (psycopg)

    if loaded.settings.dev_url is not None:
        dev = db.parse_url(loaded.settings.dev_url.get_secret_value(), "dev-url")
        return f"the dev database {dev.display} ({loaded.source_of('dev_url')})"
    major = embedded.major_version()
    first = f"the embedded PostgreSQL {major} when the target runs {major}, else " if major else ""
    return (
        f"no {devdb.SETTING} set: {first}a temporary database on the target's server when the role may "
        "create databases, else rolled-back scratch schemas in the target (status says which one a database gets)"
    )
