"""Versioned mode: the app keeps Alembic migrations, and they (not a diff) change the schema.

When `alembic_ini` is configured, `sync` and the production flow call `upgrade`: under
schemasync's advisory lock (one change at a time per database), refuse if the database moved since
the caller showed what would run (`expect`, the `State` an approver saw), run `alembic upgrade head`,
then compare the database with the models. What is left is *residual drift*: the migrations and the
models disagree. It is reported in the result and in the `schema_versions` row's notes;
`require_clean` turns it into an error for callers that must fail on it (the production flow).
The row records the Alembic head in `migration_file`, with its snapshot like every other row.

Alembic runs in a child process (`python -c` with the project's own env.py), so the app's env.py,
its logging setup (`fileConfig` would silence our loggers) and its imports stay out of this process
and out of a Prefect worker. The child gets the target database as `sqlalchemy.url` (and as
DATABASE_URL, which many env.py files read) through its environment, never its command line, and
`lock_timeout` / `statement_timeout` through PGOPTIONS. On PostgreSQL Alembic runs the pending
revisions in one transaction (unless env.py sets transaction_per_migration), so a failing revision
leaves the database where it was.

Backups and approval are the caller's: the CLI backs up before running migrations (it cannot see
inside them, so it treats every migration as possibly deleting data); the flow backs up and asks.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import psycopg

from schemasync import db, secrets
from schemasync import engine as pipeline
from schemasync.errors import ApplyFailed, ExitCode, Refused, SchemasyncError
from schemasync.history import versions
from schemasync.migrations import project
from schemasync.migrations.project import Revision, State

if TYPE_CHECKING:
    from schemasync import engine
    from schemasync.config import Settings

log = logging.getLogger(__name__)

_RUNNER = """
import os, sys
from alembic import command
from alembic.config import Config
cfg = Config(sys.argv[1])
cfg.set_main_option("script_location", sys.argv[2].replace("%", "%%"))
cfg.set_main_option("sqlalchemy.url", os.environ.pop("SCHEMASYNC_ALEMBIC_URL").replace("%", "%%"))
getattr(command, sys.argv[3])(cfg, sys.argv[4])
"""


class ResidualDrift(SchemasyncError):
    """The migrations ran, but the database still differs from the models."""

    exit_code = ExitCode.DRIFT


class StaleMigrations(Refused):
    """The database's Alembic revision changed since the caller looked (another deployment)."""


@dataclass(frozen=True, slots=True)
class Upgraded:
    before: State
    revision: str | None  # the database's revision afterwards (the head)
    applied: tuple[Revision, ...]
    version_id: int | None
    duration_ms: int
    residual: tuple[str, ...]  # summary lines of what still differs from the models; empty when clean
    schema_hash: str = ""

    @property
    def clean(self) -> bool:
        return not self.residual

    def to_json(self) -> dict[str, object]:
        return {
            "before": self.before.to_json(),
            "revision": self.revision,
            "applied": [{"id": r.id, "message": r.message} for r in self.applied],
            "version_id": self.version_id,
            "duration_ms": self.duration_ms,
            "residual_drift": list(self.residual),
        }


def enabled(settings: Settings) -> bool:
    return settings.alembic_ini is not None


def status(conn: psycopg.Connection, settings: Settings) -> State:
    """Which revisions the database has and which are pending (what an approver should see)."""
    return project.state(conn, settings)


def run_alembic(target: db.Database, settings: Settings, command: str = "upgrade", revision: str = "head") -> str:
    """Run one Alembic command on `target` in a child process; its output (scrubbed) or ApplyFailed."""
    cfg = project.load_config(settings)
    ini = project.ini_path(settings)
    location = cfg.get_main_option("script_location") or ""
    env = {k: v for k, v in os.environ.items() if k not in ("PGPASSWORD", "PGSERVICE")}
    options = f"-c lock_timeout={int(settings.lock_timeout * 1000)} -c statement_timeout={int(settings.statement_timeout * 1000)}"
    env.update(
        {
            "SCHEMASYNC_ALEMBIC_URL": target.sqlalchemy_url,
            "DATABASE_URL": target.sqlalchemy_url,
            "PGOPTIONS": options,
            "PGAPPNAME": "schemasync alembic",
            "PGCONNECT_TIMEOUT": str(max(2, round(settings.connect_timeout))),
        }
    )
    log.info("Running alembic %s %s on %s.", command, revision, target.display)
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(ini), location, command, revision],
        cwd=ini.parent,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    output = secrets.scrub((proc.stdout + proc.stderr).replace(target.sqlalchemy_url, "<database url>"))
    for line in output.splitlines():
        log.debug("alembic: %s", line)
    if proc.returncode != 0:
        raise ApplyFailed(
            f"alembic {command} {revision} failed on {target.display}: {_last_error(output)}.",
            "Fix the failing revision and run again; on PostgreSQL Alembic runs the pending revisions in one "
            "transaction, so they were rolled back (unless env.py sets transaction_per_migration). "
            "Run with --debug for Alembic's full output.",
        )
    return output


_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?(?P<name>\w*(?:Error|Exception|Failure)\w*): (?P<text>.+)$")


def _last_error(output: str) -> str:
    """The exception Alembic ended on (`DataError: (psycopg.errors.DivisionByZero) division by zero`)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        match = _EXCEPTION_LINE.match(line)
        if match:
            return f"{match['name']}: {match['text']}"[:500]
    useful = [line for line in lines if not line.startswith(("(Background on this error", "[SQL:", "INFO "))]
    return useful[-1][:500] if useful else "no output"


def upgrade(
    conn: psycopg.Connection,
    target: db.Database,
    settings: Settings,
    *,
    record: versions.Record | None,
    expect: State | None = None,
    models: engine.Models | None = None,
) -> Upgraded:
    """Apply the pending revisions under the change lock, check residual drift, record the version.

    `conn` must be in autocommit mode with no transaction open. `expect` is the state the caller
    showed (for approval): if the database's revision or the heads moved since, nothing runs.
    `record` is the row to write (status, migration_file, changes, notes are filled in here).
    """
    with db.advisory_lock(conn, target, settings.advisory_lock_timeout):
        before = project.state(conn, settings)
        if expect is not None and (before.current != expect.current or before.heads != expect.heads):
            raise StaleMigrations(
                f"The database's Alembic revision is now {', '.join(before.current) or 'base'} (heads "
                f"{', '.join(before.heads)}), not the {', '.join(expect.current) or 'base'} that was planned; "
                "nothing was run.",
                "Another deployment got there first: check schemasync history, then run again.",
            )
        if len(before.heads) > 1:
            raise Refused(
                f"The Alembic project has {len(before.heads)} heads ({', '.join(before.heads)}); "
                "`upgrade head` needs one. Nothing was run.",
                "Merge them first: alembic merge heads -m 'merge'.",
            )
        started = time.monotonic()
        if before.pending:
            run_alembic(target, settings)
        after = project.state(conn, settings)
        if after.pending:
            raise ApplyFailed(
                f"alembic upgrade head ran, but the database is at {', '.join(after.current) or 'base'} with "
                f"{len(after.pending)} revision(s) still pending.",
                "Check env.py: it must migrate the database schemasync points it at (sqlalchemy.url / DATABASE_URL).",
            )
        prepared = pipeline.prepare(conn, settings, models=models, measure=False)
        residual = (
            tuple(line for line in prepared.plan.summary if line.startswith("Found ")) if prepared.diff.changes else ()
        )
        duration_ms = int((time.monotonic() - started) * 1000)
        version_id = None
        if record is not None:
            applied = before.pending
            described = (
                f"Alembic upgrade {', '.join(before.current) or 'base'} -> {after.head}: "
                + "; ".join(r.describe() for r in applied)
                if applied
                else f"Alembic at {after.head or 'base'}; no revision to apply"
            )
            row = replace(
                record,
                status=versions.Status.APPLIED if applied else versions.Status.RECORDED,
                migration_file=(after.head or "")[:255] or None,
                changes=len(applied),
                description=record.description or described[:500],
                notes=("Residual drift against the models: " + "; ".join(residual))[:2000]
                if residual
                else record.notes,
                schema_hash=prepared.diff.source_hash,
                duration_ms=duration_ms,
            )
            with conn.transaction():
                versions.ensure_table(conn, announce=False)
                version_id = versions.record(conn, row)
    return Upgraded(before, after.head, before.pending, version_id, duration_ms, residual, prepared.diff.source_hash)


def require_clean(result: Upgraded) -> None:
    """Raise ResidualDrift when the migrations left the database different from the models."""
    if result.clean:
        return
    raise ResidualDrift(
        "The migrations ran and were recorded, but the database still differs from the models: "
        + "; ".join(result.residual)
        + ".",
        "Write the missing revision (schemasync generate -m ...) or fix the models, then deploy again.",
    )
