"""Commands for apps that keep Alembic migrations: `generate` (the plan as a revision), and `sync` in
versioned mode (`run_versioned_sync`: alembic upgrade head under our lock and backup, then residual drift),
which `sync` calls when alembic_ini is set. The engine side is `schemasync.migrations` and `schemasync.versioned`.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Annotated

import typer

from schemasync.cli.app import app, out, uses_settings
from schemasync.cli.info import app_version_of
from schemasync.cli.prompts import ask, confirm_model_errors, say
from schemasync.config import Loaded
from schemasync.errors import ExitCode

log = logging.getLogger(__name__)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]


@app.command(rich_help_panel="Code")
@uses_settings(dev_url=True)
def generate(
    loaded: Loaded,
    message: Annotated[
        str, typer.Option("--message", "-m", help="What the revision does (its docstring and file name).")
    ],
    version_path: Annotated[
        str | None,
        typer.Option(
            "--version-path", help="Which of the project's version_locations to write to.", show_default=False
        ),
    ] = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="Also drop what the models do not have (as sync --prune would).")
    ] = False,
    json_output: JsonOpt = False,
) -> None:
    """Write the current plan as an Alembic revision (upgrade and downgrade) in the app's migrations."""
    from schemasync import db, engine  # lazy: start-up (psycopg, the diff)
    from schemasync.migrations.generate import generate as write_revision  # lazy: start-up (Alembic, the planner)

    settings = loaded.settings.model_copy(update={"prune": True}) if prune else loaded.settings
    metadata = engine.load_metadata(settings)
    target = db.resolve(settings, dict(loaded.sources))
    with db.session(target, settings) as conn:
        db.set_timeouts(conn, lock_timeout=settings.lock_timeout, statement_timeout=settings.statement_timeout)
        models = engine.load_models(conn, settings, metadata)
        written = write_revision(conn, settings, message, models=models, version_path=version_path)
    if json_output:
        out.print_json(
            json.dumps(
                None
                if written is None
                else {
                    "path": str(written.path),
                    "revision": written.revision,
                    "down_revision": written.down_revision,
                    "changes": written.changes,
                    "summary": list(written.summary),
                    "irreversible": list(written.irreversible),
                }
            )
        )
        return
    if written is None:
        say(f"Nothing to generate: {target.display} already matches the models.", "green")
        return
    say(f"Wrote revision {written.revision} (follows {written.down_revision or 'base'}): {written.path}", "green")
    for line in written.summary:
        say(f"  {line}")
    if written.irreversible:
        say("The downgrade cannot bring back: " + "; ".join(written.irreversible), "yellow")
    say("Review it, then apply it with: schemasync sync (or alembic upgrade head).")


def run_versioned_sync(
    loaded: Loaded, *, yes: bool, allow_downgrade: bool, no_backup: bool, allow_model_errors: bool = False
) -> None:
    """`sync` when the app keeps Alembic migrations: apply them (alembic upgrade head), then check drift.

    Models PostgreSQL cannot create whole need the same yes as in a planned sync (and in a production run of
    the same migrations): without it, the drift check after the migrations could not cover them."""
    from schemasync import db, engine, versioned  # lazy: start-up (psycopg, the diff, Alembic)
    from schemasync.history import versions  # lazy: start-up (psycopg)
    from schemasync.ops import sync as ops  # lazy: start-up (the planner)
    from schemasync.plan import policy  # lazy: start-up (the planner)

    settings = loaded.settings
    app_version = app_version_of(loaded, required=True)
    assert app_version is not None
    metadata = engine.load_metadata(settings)
    target = db.resolve(settings, dict(loaded.sources))
    with db.session(target, settings) as conn, db.advisory_lock(conn, target, settings.advisory_lock_timeout):
        db.set_timeouts(conn, lock_timeout=settings.lock_timeout, statement_timeout=settings.statement_timeout)
        db_version = ops.standing(conn, app_version, allow_downgrade=allow_downgrade, action="sync")
        models = engine.load_models(conn, settings, metadata)
        held = ops.held_model_errors(conn, settings, models)

        def show_held() -> None:
            for error in held:
                say(f"Model error (the database's copy kept as it is): {error.describe()}", "red")

        confirm_model_errors(
            held, interactive=not yes and sys.stdin.isatty(), allowed=allow_model_errors, show=show_held
        )
        state = versioned.status(conn, settings)
        at = ", ".join(state.current) or "base"
        say(
            f"Database {target.display} ({settings.env}): version {db_version or 'none recorded'}, Alembic revision "
            f"{at}; app version {app_version}, head {', '.join(state.heads) or 'none'}."
        )
        backup_uri: str | None = None
        if state.pending:
            say(f"{len(state.pending)} revision(s) to apply:", "bold")
            for revision in state.pending:
                say(f"  {revision.describe()}  ({revision.path})")
            policy.refuse_unconfirmed(yes=yes, terminal=sys.stdin.isatty(), what="no migration was run")
            if not yes and not ask("Run these migrations? (y/N) "):
                say("Not applied: nothing was changed.")
                raise SystemExit(int(ExitCode.REFUSED))
            # migrations are opaque (any of them may delete data), so every run that has some backs up first
            if policy.backup_required(settings.backup_before_sync, deletes_data=True, no_backup=no_backup):
                from schemasync.backups.take import take_backup  # lazy: only when a backup is taken

                upload = bool(settings.s3_bucket)
                taken = take_backup(settings, target, upload=upload)
                if not upload:
                    log.warning("No S3 bucket is configured: the backup is kept on this machine only (%s).", taken.path)
                backup_uri = taken.location
                say(f"Backup {taken.id} stored at {taken.location}; undo with: {taken.restore_command}")
        record = (
            None
            if not state.pending and db_version == app_version
            else versions.Record(
                schema_version=app_version, status=versions.Status.APPLIED, environment=settings.env,
                app_version=app_version, backup_uri=backup_uri,
            )
        )  # fmt: skip
        result = versioned.upgrade(conn, target, settings, record=record, expect=state, models=models)
    if result.applied:
        say(
            f"Applied {len(result.applied)} revision(s) in {result.duration_ms} ms; the database is at {result.revision}"
            + (f"; version {app_version} recorded." if result.version_id else "."),
            "green",
        )
    elif result.version_id:
        say(f"No migration to apply; recorded version {app_version} (Alembic head {result.revision}).", "green")
    else:
        say("Nothing to do: no migration pending and the database is at the app's version.", "green")
    if not result.clean:
        say("Residual drift: the database still differs from the models after the migrations:", "yellow")
        for line in result.residual:
            say(f"  {line}", "yellow")
        say("Write the missing revision with: schemasync generate -m '...'")
        raise SystemExit(int(ExitCode.DRIFT))
