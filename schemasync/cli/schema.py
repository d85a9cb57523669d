"""Commands that compare and change the schema: `diff`, `check`, `sync`, `push`.

They all run the same pipeline (`schemasync.engine.prepare`) and `sync`/`push` the same executor
(`schemasync.apply`) as the Prefect flows. `sync` holds the change lock from before it inspects until
it is done, so a second sync waits, then finds nothing left to do.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Annotated, Any

import psycopg
import typer

from schemasync import db, engine
from schemasync.cli.app import app, err, out, uses_settings
from schemasync.cli.info import app_version_of
from schemasync.config import Loaded, Settings
from schemasync.errors import ConfigError, ExitCode, Refused
from schemasync.history import versions
from schemasync.schema.model import RenameHints, Schema

log = logging.getLogger(__name__)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
SqlOpt = Annotated[bool, typer.Option("--sql", help="Print the plan as SQL (hazards as comments).")]
PruneOpt = Annotated[
    bool,
    typer.Option(
        "--prune", help="Also drop tables, columns, enums and sequences the models do not have (deletes data)."
    ),
]
ConcurrentOpt = Annotated[
    bool,
    typer.Option(
        "--concurrent-indexes",
        help="Build indexes on existing tables with CREATE INDEX CONCURRENTLY (and validate new constraints) "
        "after the transaction: writes go on, but those steps are not all-or-nothing.",
    ),
]
OnlineOpt = Annotated[
    bool,
    typer.Option(
        "--online",
        help="Plan lock-light forms on existing tables: NOT NULL through a validated check, changed indexes "
        "rebuilt CONCURRENTLY and swapped, constraints validated after the transaction (implies "
        "--concurrent-indexes). Those steps run after the transaction, each with its own lock_timeout.",
    ),
]
RenameOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--rename",
        metavar="OLD=NEW",
        help="Declare a rename for this run, keeping the data: TABLE=NEW_TABLE, or TABLE.COLUMN=NEW_COLUMN "
        "(SCHEMA.TABLE=... outside public; TABLE is the name in the models). Repeatable.",
    ),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking (for scripts and CI).")]
DestructiveOpt = Annotated[
    bool, typer.Option("--allow-destructive", help="Allow changes that delete data without a prompt.")
]
DowngradeOpt = Annotated[
    bool, typer.Option("--allow-downgrade", help="Allow syncing when the database is at a newer version.")
]
ModelErrorsOpt = Annotated[
    bool,
    typer.Option(
        "--allow-model-errors",
        help="Apply the rest of the plan when some declared objects cannot be created as declared "
        "(needed without a terminal or with --yes; on a terminal you are asked).",
    ),
]
NoBackupOpt = Annotated[
    bool, typer.Option("--no-backup", help="Do not take the local backup sync takes before a plan that deletes data.")
]


# -- shared pieces ------------------------------------------------------------------------------


def with_flags(
    settings: Settings, *, prune: bool = False, concurrent_indexes: bool = False, online: bool = False
) -> Settings:
    """Flags only switch things on; settings (env, pyproject) may have switched them on already."""
    update: dict[str, Any] = {}
    if prune:
        update["prune"] = True
    if concurrent_indexes:
        update["concurrent_indexes"] = True
    if online:
        update["online"] = True
    return settings.model_copy(update=update) if update else settings


def parse_renames(values: list[str] | None, desired: Schema) -> RenameHints:
    """`--rename` values -> hints. `A=B` renames table A; `A.B=C` renames column B of table A when the
    models have a table A, else table B of schema A; `S.T.C=D` renames column C of table S.T."""
    tables: list[tuple[str, str, str]] = []
    columns: list[tuple[str, str, str, str]] = []
    model_tables = {t.name: t.schema for t in sorted(desired.tables, key=lambda t: t.schema != "public")}
    schemas = {t.schema for t in desired.tables} | set(desired.schemas)
    for raw in values or []:
        left, sep, right = raw.partition("=")
        old = [p.strip() for p in left.split(".")]
        new = right.strip().split(".")[-1].strip()
        if not sep or not new or not all(old) or len(old) > 3:
            raise ConfigError(
                f"--rename {raw!r} is not of the form OLD=NEW.",
                "Use TABLE=NEW_TABLE for a table or TABLE.COLUMN=NEW_COLUMN for a column, "
                "for example --rename users=accounts or --rename users.fullname=display_name.",
            )
        if len(old) == 1:
            tables.append(("public", new, old[0]))
        elif len(old) == 3:
            columns.append((old[0], old[1], new, old[2]))
        elif old[0] in model_tables:
            columns.append((model_tables[old[0]], old[0], new, old[1]))
        elif old[0] in schemas:
            tables.append((old[0], new, old[1]))
        else:
            raise ConfigError(
                f"--rename {raw!r}: the models have no table or schema called {old[0]!r}.",
                "Name the table as the models name it now (after the rename, for a renamed table).",
            )
    return RenameHints(tuple(tables), tuple(columns))


@contextmanager
def connected(loaded: Loaded, settings: Settings) -> Iterator[tuple[db.Database, psycopg.Connection]]:
    target = db.resolve(settings, dict(loaded.sources))
    with db.session(target, settings) as conn:
        db.set_timeouts(conn, lock_timeout=settings.lock_timeout, statement_timeout=settings.statement_timeout)
        yield target, conn


def _print(text: str, style: str | None = None) -> None:
    """User data (names, SQL, labels) is never Rich markup."""
    out.print(text, style=style, markup=False, highlight=False, soft_wrap=True)


def show_summary(prepared: engine.Prepared) -> None:
    for line in prepared.plan.summary:
        _print(line)
    for suggestion in prepared.diff.suggestions:
        _print(
            f"Possible rename (not applied): {suggestion.describe()}. Declare it with "
            'info={"renamed_from": ...} in the models or --rename to keep the data.',
            "yellow",
        )
    reported = prepared.diff.reported
    if reported:
        kinds: dict[str, int] = {}
        for r in reported:
            kinds[r.kind] = kinds.get(r.kind, 0) + 1
        listed = ", ".join(f"{n} {k}{'s' if n > 1 else ''}" for k, n in sorted(kinds.items()))
        _print(f"Not managed by schemasync, left as they are: {listed}.", "dim")
    show_left_out(prepared)


def show_left_out(prepared: engine.Prepared) -> None:
    """What the models declare that the comparison could not cover: one red line each, never folded."""
    for held in prepared.model_errors:
        _print(f"Model error (left out of the plan, the database's copy kept as it is): {held.describe()}", "red")
    for unmanaged in prepared.unmanaged_declared:
        _print(f"Unmanaged-declared (schemasync neither creates nor compares it): {unmanaged.describe()}", "red")


def show_hazards(prepared: engine.Prepared) -> None:
    hazards = prepared.plan.hazards
    if not hazards:
        return
    _print("Hazards:")
    for h in hazards:
        _print(f"  {h.kind.name:<15} {h.fact}", "red" if h.kind.name == "DELETES_DATA" or h.blocking else "yellow")


def show_plan(prepared: engine.Prepared) -> None:
    before, inside, after = prepared.plan.parts()
    n = 0
    for title, part in (
        ("Before the transaction:", before),
        ("In one transaction:", inside),
        ("After the transaction commits:", after),
    ):
        if not part:
            continue
        _print(title, "bold")
        for statement in part:
            n += 1
            lines = statement.sql.splitlines()
            _print(f"  {n:>3}  {lines[0]}")
            for line in lines[1:]:
                _print(f"       {line}")
            for h in statement.hazards:
                _print(
                    f"       ! {h.kind.name}: {h.fact}",
                    "red" if h.kind.name == "DELETES_DATA" or h.blocking else "yellow",
                )


def diff_json(prepared: engine.Prepared, target: db.Database) -> dict[str, Any]:
    from schemasync.diff.changes import change_to_dict

    return {
        "database": target.display,
        "in_sync": prepared.matches,
        "summary": list(prepared.plan.summary),
        "model_errors": [held.to_dict() for held in prepared.model_errors],
        "unmanaged_declared": [
            {"kind": u.kind, "schema": u.schema, "name": u.name, "detail": u.detail}
            for u in prepared.unmanaged_declared
        ],
        "changes": [change_to_dict(c) for c in prepared.diff.changes],
        "unmanaged": [u.describe() for u in prepared.diff.unmanaged],
        "suggestions": [s.describe() for s in prepared.diff.suggestions],
        "reported": [{"kind": r.kind, "schema": r.schema, "name": r.name} for r in prepared.diff.reported],
        "plan": prepared.plan.to_dict(),
    }


# -- diff and check -----------------------------------------------------------------------------


@app.command("diff", rich_help_panel="Look")
@uses_settings(dev_url=True)
def diff_command(
    loaded: Loaded,
    *,
    sql_output: SqlOpt = False,
    json_output: JsonOpt = False,
    prune: PruneOpt = False,
    concurrent_indexes: ConcurrentOpt = False,
    online: OnlineOpt = False,
    rename: RenameOpt = None,
) -> None:
    """Show what it takes to bring the database in line with the models (writes nothing)."""
    settings = with_flags(loaded.settings, prune=prune, concurrent_indexes=concurrent_indexes, online=online)
    engine.require_models(settings)
    with connected(loaded, settings) as (target, conn):
        models = engine.load_models(conn, settings, reuse=True)
        prepared = engine.prepare(conn, settings, models=models, extra_hints=parse_renames(rename, models.desired))
    if json_output:
        out.print_json(json.dumps(diff_json(prepared, target), default=str))
        return
    if sql_output:
        _print(prepared.plan.sql() if not prepared.plan.empty else "-- The database matches the models.")
        return
    if prepared.matches:
        _print(f"The database matches the models ({target.display}).", "green")
        show_summary(prepared)
        return
    if prepared.in_sync:
        _print(f"Nothing to apply to {target.display}, but not everything the models declare was compared:", "yellow")
        show_summary(prepared)
        return
    show_summary(prepared)
    show_hazards(prepared)
    count = len(prepared.plan.statements)
    _print(f"{count} statement{'s' if count != 1 else ''} to run. Apply with: schemasync sync", "bold")


@app.command(rich_help_panel="Look")
@uses_settings(dev_url=True)
def check(loaded: Loaded, json_output: JsonOpt = False, prune: PruneOpt = False) -> None:
    """Exit 0 when the database matches the models, 2 when it does not (for CI). Never writes.

    Also 2 when the models declare objects PostgreSQL cannot create as declared (model errors) or that
    schemasync does not manage (unmanaged-declared): "in sync" is never said about what was not compared."""
    settings = with_flags(loaded.settings, prune=prune)
    engine.require_models(settings)
    with connected(loaded, settings) as (target, conn):
        prepared = engine.prepare(conn, settings, models=engine.load_models(conn, settings, reuse=True), measure=False)
    if json_output:
        out.print_json(json.dumps(diff_json(prepared, target), default=str))
    elif prepared.matches:
        _print(f"In sync: the database matches the models ({target.display}).", "green")
        for u in prepared.diff.unmanaged:
            _print(f"Left alone (not in the models): {u.describe()}", "dim")
    elif prepared.in_sync:
        _print(f"Not in sync: the models declare objects schemasync could not compare with {target.display}.", "yellow")
        show_summary(prepared)
    else:
        _print(f"Out of sync: {target.display} differs from the models.", "yellow")
        show_summary(prepared)
        _print("Run schemasync diff for the plan, schemasync sync to apply it.")
    if not prepared.matches:
        raise SystemExit(int(ExitCode.DRIFT))


# -- sync and push ------------------------------------------------------------------------------


def _ask(question: str) -> bool:
    try:
        answer = out.input(question)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def backup_needed(settings: Settings, prepared: engine.Prepared, *, no_backup: bool) -> bool:
    if no_backup:
        return False
    return settings.backup_before_sync == "always" or (
        settings.backup_before_sync == "destructive" and prepared.plan.destructive
    )


def backup_before_apply(
    target: db.Database, settings: Settings, prepared: engine.Prepared, *, no_backup: bool
) -> str | None:
    """Take a backup before a plan that deletes data (or always, if so configured); its location.

    Called after the operator confirmed and before anything is applied. A failed backup stops the
    sync: nothing is applied without the backup it was promised. With a bucket configured the backup
    is uploaded and verified too, and a failed upload stops the sync as well (the local copy stays);
    without one, the backup stays on this machine and a warning says so.
    """
    if not backup_needed(settings, prepared, no_backup=no_backup):
        return None
    from schemasync.backup import take_backup

    why = "a plan that deletes data" if prepared.plan.destructive else "the plan (backup_before_sync = always)"
    log.info("Backing up %s before applying %s.", target.display, why)
    upload = bool(settings.s3_bucket)
    taken = take_backup(settings, target, schema_hash=prepared.plan.source_hash, upload=upload)
    if not upload:
        log.warning("No S3 bucket is configured: the backup is kept on this machine only (%s).", taken.path)
    log.info("Backup %s stored at %s; to undo this sync: %s", taken.id, taken.location, taken.restore_command)
    return taken.location


def _refuse_blocking(prepared: engine.Prepared) -> None:
    blocking = prepared.plan.blocking()
    if blocking:
        raise Refused(
            "The plan would fail on the data as it is: "
            + "; ".join(h.fact for h in blocking)
            + ". Nothing was changed.",
            "Fix the data first (the counts above say where), or change the models; schemasync never empties a "
            "table to make a change pass.",
        )


def _confirm_model_errors(prepared: engine.Prepared, *, interactive: bool, allowed: bool) -> None:
    """Applying the rest of the models while some of them cannot be created needs someone to have seen it.

    On a terminal the errors are shown and the operator is asked; without one (or with --yes), only
    --allow-model-errors lets the rest through, so a script never applies half the models by accident.
    """
    if not prepared.model_errors or allowed:
        return
    show_left_out(prepared)
    count = len(prepared.model_errors)
    objects = f"{count} declared object{'s' if count != 1 else ''}"
    if not interactive:
        raise Refused(
            f"The models have {objects} PostgreSQL cannot create as declared (listed above), and no one confirmed "
            "applying the rest without them. Nothing was changed.",
            "Fix those objects in the models, or run again on a terminal or with --allow-model-errors to apply "
            "the rest (the database's copies of those objects are kept as they are).",
        )
    if not _ask(f"The models have {objects} that cannot be created (above). Go on with the rest? (y/N) "):
        _print("Not applied: nothing was changed.")
        raise SystemExit(int(ExitCode.REFUSED))


def run_sync(
    loaded: Loaded,
    *,
    yes: bool,
    allow_destructive: bool,
    allow_downgrade: bool,
    no_backup: bool,
    prune: bool,
    concurrent_indexes: bool,
    rename: list[str] | None,
    allow_model_errors: bool = False,
    online: bool = False,
) -> None:
    from schemasync.apply import apply, record_only
    from schemasync.plan import HazardKind

    settings = with_flags(loaded.settings, prune=prune, concurrent_indexes=concurrent_indexes, online=online)
    app_version = app_version_of(loaded, required=True)
    assert app_version is not None
    interactive = not yes and sys.stdin.isatty()
    engine.require_models(settings)
    with (
        connected(loaded, settings) as (target, conn),
        db.advisory_lock(conn, target, settings.advisory_lock_timeout),
    ):
        latest = versions.latest(conn)
        db_version = latest.schema_version if latest else None
        versions.refuse_downgrade(app_version, db_version, allow=allow_downgrade, action="sync")
        models = engine.load_models(conn, settings)  # always a fresh import: what is applied is computed anew
        hints = parse_renames(rename, models.desired)
        prepared = engine.prepare(conn, settings, models=models, extra_hints=hints)
        if interactive and prepared.diff.suggestions:
            accepted = RenameHints()
            for suggestion in prepared.diff.suggestions:
                if _ask(f"Is {suggestion.describe()} a rename? Renaming keeps the data. (y/N) "):
                    accepted = accepted.merged(suggestion.hints)
            if accepted != RenameHints():
                prepared = engine.prepare(conn, settings, models=models, extra_hints=hints.merged(accepted))
        where = f"{target.display} ({settings.env})"
        _confirm_model_errors(prepared, interactive=interactive, allowed=allow_model_errors)
        _print(f"Database {where}: version {db_version or 'none recorded'}; app version {app_version}.")
        record = versions.Record(
            schema_version=app_version, status=versions.Status.APPLIED, environment=settings.env,
            app_version=app_version,
        )  # fmt: skip
        if prepared.plan.empty:
            show_summary(prepared)
            if db_version == app_version:
                _print("Nothing to do: the database matches the models and is at the app's version.", "green")
                return
            note = "The schema already matched the models; version recorded"
            record_only(
                conn, target, settings=settings, current=prepared.current, desired=prepared.desired,
                options=prepared.options,
                record=replace(record, status=versions.Status.RECORDED, description=note),
            )  # fmt: skip
            _print(f"The schema already matches the models; recorded version {app_version}.", "green")
            return
        show_summary(prepared)
        show_plan(prepared)
        _refuse_blocking(prepared)
        from schemasync.plan.locks import refuse_oversized

        refuse_oversized(conn, prepared.diff, prepared.current, prepared.desired)
        destructive = prepared.plan.destructive
        if destructive and not interactive and not allow_destructive:
            raise Refused(
                "The plan deletes data ("
                + "; ".join(h.fact for h in prepared.plan.hazards if h.kind is HazardKind.DELETES_DATA)
                + ") and no one confirmed it. Nothing was changed.",
                "Review the plan above and run again with --allow-destructive (or interactively).",
            )
        if not yes:
            if not sys.stdin.isatty():
                raise Refused(
                    "There is no terminal to ask for confirmation, so nothing was changed.",
                    "Run it in a terminal, or pass --yes to apply without asking"
                    + (" (and --allow-destructive for a plan that deletes data)." if destructive else "."),
                )
            if destructive:
                _print("This plan deletes data: see DELETES_DATA above.", "bold red")
            if not _ask("Apply schema changes to database? (y/N) "):
                _print("Not applied: nothing was changed.")
                raise SystemExit(int(ExitCode.REFUSED))
        backup = backup_before_apply(target, settings, prepared, no_backup=no_backup)
        record = replace(record, backup_uri=backup)
        confirmed = allow_destructive or interactive  # a person said yes to the plan above
        allowed = set(HazardKind) if confirmed else set(HazardKind) - {HazardKind.DELETES_DATA}
        log.info("Applying %d statements to %s.", len(prepared.plan.statements), target.display)
        applied = apply(
            conn, target, prepared.plan, settings=settings, desired=prepared.desired, options=prepared.options,
            allow=allowed, record=record,
        )  # fmt: skip
    moved = f"{db_version} -> {app_version}" if db_version and db_version != app_version else app_version
    _print(
        f"Applied {prepared.plan.change_count} change{'s' if prepared.plan.change_count != 1 else ''} "
        f"({applied.statements} statements) in {applied.duration_ms} ms; the database matches the models; "
        f"version {moved} recorded.",
        "green",
    )
    if applied.outside:
        _print(f"{len(applied.outside)} step{'s' if len(applied.outside) != 1 else ''} ran outside the transaction:")
        for step in applied.outside:
            _print(f"  {step}")


@app.command(rich_help_panel="Change")
@uses_settings(dev_url=True)
def sync(
    loaded: Loaded,
    *,
    yes: YesOpt = False,
    allow_destructive: DestructiveOpt = False,
    allow_downgrade: DowngradeOpt = False,
    no_backup: NoBackupOpt = False,
    prune: PruneOpt = False,
    concurrent_indexes: ConcurrentOpt = False,
    online: OnlineOpt = False,
    rename: RenameOpt = None,
    allow_model_errors: ModelErrorsOpt = False,
) -> None:
    """Bring the database in line with the models: show the plan and its hazards, ask, apply, record.

    With alembic_ini configured (versioned mode), run the app's migrations instead, then check drift."""
    if loaded.settings.alembic_ini is not None:
        from schemasync.cli.migrations import run_versioned_sync

        if prune or rename or concurrent_indexes or online:
            raise ConfigError(
                "--prune, --rename, --concurrent-indexes and --online shape a planned sync; with alembic_ini set, sync runs "
                "the app's Alembic migrations instead.",
                "Put the change in a revision (schemasync generate -m ...), or use schemasync push to apply the "
                "models directly.",
            )
        run_versioned_sync(loaded, yes=yes, allow_downgrade=allow_downgrade, no_backup=no_backup)
        return
    run_sync(
        loaded,
        yes=yes,
        allow_destructive=allow_destructive,
        allow_downgrade=allow_downgrade,
        no_backup=no_backup,
        prune=prune,
        concurrent_indexes=concurrent_indexes,
        rename=rename,
        allow_model_errors=allow_model_errors,
        online=online,
    )


@app.command(rich_help_panel="Change")
@uses_settings(dev_url=True)
def push(
    loaded: Loaded,
    *,
    force: Annotated[
        bool, typer.Option("--force", help="Apply without prompts, including changes that delete data.")
    ] = False,
    allow_downgrade: DowngradeOpt = False,
    no_backup: NoBackupOpt = False,
    prune: PruneOpt = False,
    concurrent_indexes: ConcurrentOpt = False,
    online: OnlineOpt = False,
    rename: RenameOpt = None,
    allow_model_errors: ModelErrorsOpt = False,
) -> None:
    """Push the models to the database: `sync`, or with --force `sync --yes --allow-destructive`."""
    if force:
        err.print(
            "warning: push --force applies every change without asking, including changes that delete data.",
            style="yellow",
            markup=False,
        )
    run_sync(
        loaded,
        yes=force,
        allow_destructive=force,
        allow_downgrade=allow_downgrade,
        no_backup=no_backup,
        prune=prune,
        concurrent_indexes=concurrent_indexes,
        rename=rename,
        allow_model_errors=allow_model_errors,
        online=online,
    )
