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
from typing import TYPE_CHECKING, Annotated, Any

import typer

from schemasync.cli.app import app, err, out, uses_settings
from schemasync.cli.info import app_version_of
from schemasync.cli.migrations import run_versioned_sync
from schemasync.cli.prompts import ask, confirm_model_errors, say
from schemasync.config import Loaded, Settings
from schemasync.errors import ConfigError, ExitCode

if TYPE_CHECKING:
    import psycopg

    from schemasync import db, engine
    from schemasync.plan.hazards import Hazard
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
    from schemasync.schema.model import RenameHints  # lazy: start-up (the schema value's classes)

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
    from schemasync import db  # lazy: start-up (psycopg)

    target = db.resolve(settings, dict(loaded.sources))
    with db.session(target, settings) as conn:
        db.set_timeouts(conn, lock_timeout=settings.lock_timeout, statement_timeout=settings.statement_timeout)
        yield target, conn


def show_summary(prepared: engine.Prepared) -> None:
    for line in prepared.plan.summary:
        say(line)
    for suggestion in prepared.diff.suggestions:
        say(
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
        say(f"Not managed by schemasync, left as they are: {listed}.", "dim")
    show_left_out(prepared)


def show_left_out(prepared: engine.Prepared) -> None:
    """What the models declare that the comparison could not cover: one red line each, never folded."""
    for held in prepared.model_errors:
        say(f"Model error (left out of the plan, the database's copy kept as it is): {held.describe()}", "red")
    for unmanaged in prepared.unmanaged_declared:
        say(f"Unmanaged-declared (schemasync neither creates nor compares it): {unmanaged.describe()}", "red")


def _hazard_style(hazard: Hazard) -> str:
    from schemasync.plan.hazards import HazardKind  # lazy: start-up (the plan package, off the `--help` path)

    return "red" if hazard.kind is HazardKind.DELETES_DATA or hazard.blocking else "yellow"


def show_hazards(prepared: engine.Prepared) -> None:
    hazards = prepared.plan.hazards
    if not hazards:
        return
    say("Hazards:")
    for h in hazards:
        say(f"  {h.kind.name:<15} {h.fact}", _hazard_style(h))


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
        say(title, "bold")
        for statement in part:
            n += 1
            lines = statement.sql.splitlines()
            say(f"  {n:>3}  {lines[0]}")
            for line in lines[1:]:
                say(f"       {line}")
            for h in statement.hazards:
                say(f"       ! {h.kind.name}: {h.fact}", _hazard_style(h))


def diff_json(prepared: engine.Prepared, target: db.Database) -> dict[str, Any]:
    from schemasync.diff.changes import change_to_dict  # lazy: start-up (the diff's change classes)
    from schemasync.ops import sync as ops  # lazy: start-up (the planner)

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
        "policy": [finding.to_dict() for finding in ops.findings(prepared)],  # what sync refuses, by code
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
    from schemasync import engine  # lazy: start-up (the diff, the models' DDL)

    settings = with_flags(loaded.settings, prune=prune, concurrent_indexes=concurrent_indexes, online=online)
    engine.require_models(settings)
    with connected(loaded, settings) as (target, conn):
        models = engine.load_models(conn, settings, reuse=True)
        prepared = engine.prepare(conn, settings, models=models, extra_hints=parse_renames(rename, models.desired))
    if json_output:
        out.print_json(json.dumps(diff_json(prepared, target), default=str))
        return
    if sql_output:
        say(prepared.plan.sql() if not prepared.plan.empty else "-- The database matches the models.")
        return
    if prepared.matches:
        say(f"The database matches the models ({target.display}).", "green")
        show_summary(prepared)
        return
    if prepared.in_sync:
        say(f"Nothing to apply to {target.display}, but not everything the models declare was compared:", "yellow")
        show_summary(prepared)
        return
    show_summary(prepared)
    show_hazards(prepared)
    count = len(prepared.plan.statements)
    say(f"{count} statement{'s' if count != 1 else ''} to run. Apply with: schemasync sync", "bold")


@app.command(rich_help_panel="Look")
@uses_settings(dev_url=True)
def check(loaded: Loaded, json_output: JsonOpt = False, prune: PruneOpt = False) -> None:
    """Exit 0 when the database matches the models, 2 when it does not (for CI). Never writes.

    Also 2 when the models declare objects PostgreSQL cannot create as declared (model errors) or that
    schemasync does not manage (unmanaged-declared): "in sync" is never said about what was not compared."""
    from schemasync import engine  # lazy: start-up (the diff, the models' DDL)

    settings = with_flags(loaded.settings, prune=prune)
    engine.require_models(settings)
    with connected(loaded, settings) as (target, conn):
        prepared = engine.prepare(conn, settings, models=engine.load_models(conn, settings, reuse=True), measure=False)
    if json_output:
        out.print_json(json.dumps(diff_json(prepared, target), default=str))
    elif prepared.matches:
        say(f"In sync: the database matches the models ({target.display}).", "green")
        for u in prepared.diff.unmanaged:
            say(f"Left alone (not in the models): {u.describe()}", "dim")
    elif prepared.in_sync:
        say(f"Not in sync: the models declare objects schemasync could not compare with {target.display}.", "yellow")
        show_summary(prepared)
    else:
        say(f"Out of sync: {target.display} differs from the models.", "yellow")
        show_summary(prepared)
        say("Run schemasync diff for the plan, schemasync sync to apply it.")
    if not prepared.matches:
        raise SystemExit(int(ExitCode.DRIFT))


# -- sync and push ------------------------------------------------------------------------------


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
    """`sync` and `push`: the use case is `schemasync.ops.sync`; here are the flags, the prompts and the output."""
    from schemasync import db, engine  # lazy: start-up (psycopg, the diff, the models' DDL)
    from schemasync.ops import sync as ops  # lazy: start-up (the planner and the executor)
    from schemasync.plan import policy  # lazy: start-up (the planner)
    from schemasync.schema.model import RenameHints  # lazy: start-up (the schema value's classes)

    settings = with_flags(loaded.settings, prune=prune, concurrent_indexes=concurrent_indexes, online=online)
    app_version = app_version_of(loaded, required=True)
    assert app_version is not None
    interactive = not yes and sys.stdin.isatty()
    engine.require_models(settings)
    with (
        connected(loaded, settings) as (target, conn),
        db.advisory_lock(conn, target, settings.advisory_lock_timeout),
    ):
        db_version = ops.standing(conn, app_version, allow_downgrade=allow_downgrade, action="sync")
        models = engine.load_models(conn, settings)  # always a fresh import: what is applied is computed anew
        hints = parse_renames(rename, models.desired)
        prepared = ops.decide(conn, settings, models, hints)
        if interactive and prepared.diff.suggestions:
            accepted = RenameHints()
            for suggestion in prepared.diff.suggestions:
                if ask(f"Is {suggestion.describe()} a rename? Renaming keeps the data. (y/N) "):
                    accepted = accepted.merged(suggestion.hints)
            prepared = ops.with_renames(conn, settings, models, prepared, hints=hints, accepted=accepted)
        where = f"{target.display} ({settings.env})"
        confirm_model_errors(
            prepared.model_errors,
            interactive=interactive,
            allowed=allow_model_errors,
            show=lambda: show_left_out(prepared),
        )
        say(f"Database {where}: version {db_version or 'none recorded'}; app version {app_version}.")
        record = ops.record_for(settings, app_version)
        if prepared.plan.empty:
            show_summary(prepared)
            if db_version == app_version:
                say("Nothing to do: the database matches the models and is at the app's version.", "green")
                return
            ops.record_in_sync(conn, target, settings, prepared, record)
            say(f"The schema already matches the models; recorded version {app_version}.", "green")
            return
        show_summary(prepared)
        show_plan(prepared)
        reviewed = allow_destructive or interactive  # a person at the prompt sees the plan and can say no
        ops.check(conn, prepared, reviewed=reviewed)
        destructive = prepared.plan.destructive
        policy.refuse_unconfirmed(yes=yes, terminal=sys.stdin.isatty(), destructive=destructive)
        if not yes:
            if destructive:
                say("This plan deletes data: see DELETES_DATA above.", "bold red")
            if not ask("Apply schema changes to database? (y/N) "):
                say("Not applied: nothing was changed.")
                raise SystemExit(int(ExitCode.REFUSED))
        record = replace(record, backup_uri=ops.backup(target, settings, prepared, no_backup=no_backup))
        applied = ops.apply_plan(conn, target, settings, prepared, record=record, deletes_reviewed=reviewed)
    moved = f"{db_version} -> {app_version}" if db_version and db_version != app_version else app_version
    say(
        f"Applied {prepared.plan.change_count} change{'s' if prepared.plan.change_count != 1 else ''} "
        f"({applied.statements} statements) in {applied.duration_ms} ms; the database matches the models; "
        f"version {moved} recorded.",
        "green",
    )
    if applied.outside:
        say(f"{len(applied.outside)} step{'s' if len(applied.outside) != 1 else ''} ran outside the transaction:")
        for step in applied.outside:
            say(f"  {step}")


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
        if prune or rename or concurrent_indexes or online:
            raise ConfigError(
                "--prune, --rename, --concurrent-indexes and --online shape a planned sync; with alembic_ini set, sync runs "
                "the app's Alembic migrations instead.",
                "Put the change in a revision (schemasync generate -m ...), or use schemasync push to apply the "
                "models directly.",
            )
        run_versioned_sync(
            loaded, yes=yes, allow_downgrade=allow_downgrade, no_backup=no_backup, allow_model_errors=allow_model_errors
        )
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
