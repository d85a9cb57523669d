"""The steps of a production deployment, one function each, taking and returning plain values.

Each step resolves its settings and database from the `Target` and opens its own connection, so a
step can be retried on its own and nothing that holds a password crosses a step boundary. The order,
the approval pause and the retries belong to the flow (`flows/production.py`); what each step does,
and every rule about what is safe, belongs here:

- `check_versions`: the app's and the database's versions; refuses a downgrade.
- `plan_change`: inspect, diff, plan, count the affected rows; never writes.
- `check_plan`: refuses a plan that would fail on the data, or a destructive plan nobody reviewed.
- `take_backup` / `upload_backup`: a verified dump, then its verified S3 copy; without a bucket the
  run stops unless a local-only backup was explicitly allowed.
- `pin_plan`: pin what the approval covers (`gate.Pin`: target identity, settings, commands, backup).
- `apply_change`: under the caller's `slot` (the Prefect concurrency limit), refuse when the pin moved,
  plan again, refuse a stale plan (the schema hash or the statements differ from what was approved),
  apply in one transaction with the version row (approver, comment, backup, run id, duration).
- `record_in_sync`, `record_outcome`: the other rows (recorded, rejected, refused, failed).
- `build_app`, `verify_deployment`: `schemasync.build` on the target, with the approved commands.
- `write_summary`: the summary file `deploy-<timestamp>.md` next to the backups.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from schemasync import build, db, engine, secrets, versioned
from schemasync.apply import StalePlan, apply, record_only
from schemasync.backups.format import BackupFailed, Manifest, backup_root, ensure_dir, manifest_path, stamp
from schemasync.backups.s3 import S3Store
from schemasync.backups.s3 import is_transient as s3_transient
from schemasync.backups.store import Corrupt
from schemasync.backups.take import TakenBackup, write_dump
from schemasync.config import Loaded, Settings, load_settings
from schemasync.deploy import gate
from schemasync.deploy.model import (
    AffectedTable,
    AppliedChange,
    BackupInfo,
    Context,
    Decision,
    HazardNote,
    PlannedChange,
    Target,
    digest,
)
from schemasync.diff import changes as c
from schemasync.errors import ConfigError
from schemasync.history import versions
from schemasync.plan import policy
from schemasync.plan.facts import EXACT_MAX_TABLE_BYTES
from schemasync.plan.locks import refuse_oversized
from schemasync.plan.policy import NoOffsiteBackup
from schemasync.plan.sql import ident
from schemasync.privatefiles import open_private

if TYPE_CHECKING:
    from schemasync.schema.model import Schema

log = logging.getLogger(__name__)

Slot = Callable[[db.Database], AbstractContextManager[object]]
SUMMARY_PREFIX = "deploy-"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_embedded: dict[Path, db.Database] = {}
_pinned: dict[str, db.Database] = {}  # pin digest -> the database it names (this process's memory only)


# -- settings and connections ----------------------------------------------------------------------


def _load(target: Target) -> Loaded:
    loaded = load_settings(
        {
            "project_dir": target.project_dir,
            "env": target.environment,
            "models": target.models,
            "app_version": target.app_version,
        }
    )
    update: dict[str, object] = {}
    if target.prune:
        update["prune"] = True
    if target.concurrent_indexes:
        update["concurrent_indexes"] = True
    if target.online:  # on by default in production (Target)
        update["online"] = True
    return Loaded(loaded.settings.model_copy(update=update), loaded.sources) if update else loaded


def settings_for(target: Target) -> Settings:
    return _load(target).settings


def open_target(target: Target) -> tuple[Settings, db.Database]:
    """Settings and database of `target`; the URL is read here, from the environment or the settings."""
    loaded = _load(target)
    settings = loaded.settings
    name = target.database_url_env
    if name:
        if not _ENV_NAME.fullmatch(name):
            raise ConfigError(
                f"database_url_env must name an environment variable, and {secrets.scrub(name)[:60]!r} is not a variable name.",
                "Put the URL in an environment variable of the process running the flow and pass its name "
                "(for example PROD_DATABASE_URL); never pass the URL itself: Prefect stores parameters.",
            )
        value = os.environ.get(name, "").strip()
        if not value:
            raise ConfigError(
                f"The environment variable {name} (database_url_env) is not set in the process running this deployment.",
                f"Set {name} to the database URL there, or leave database_url_env empty to use the settings "
                "(PROD_DATABASE_URL or PROD_DB_* for production, DATABASE_URL otherwise).",
            )
        secrets.register(value)
        return settings, db.parse_url(value, f"environment variable {name}")
    if settings.database_url is None and not settings.is_production:  # the embedded server: start it once
        key = (settings.project_dir / settings.embedded_dir).resolve()
        if key not in _embedded:
            _embedded[key] = db.resolve(settings, dict(loaded.sources))
        return settings, _embedded[key]
    return settings, db.resolve(settings, dict(loaded.sources))


@contextlib.contextmanager
def _session(settings: Settings, database: db.Database) -> Iterator[psycopg.Connection]:
    with db.session(database, settings) as conn:
        db.set_timeouts(conn, lock_timeout=settings.lock_timeout, statement_timeout=settings.statement_timeout)
        yield conn


# -- versions --------------------------------------------------------------------------------------


def check_versions(target: Target, *, allow_downgrade: bool = False) -> Context:
    """Where the database and the app stand; Refused when the database is ahead (unless allowed)."""
    settings, database = open_target(target)
    app_version = settings.app_version
    versions.parse_version(app_version, "the app version")
    assert app_version is not None
    with _session(settings, database) as conn:
        latest = versions.latest(conn)
    db_version = latest.schema_version if latest else None
    policy.refuse_downgrade(app_version, db_version, allow=allow_downgrade, action="this deployment")
    relation = versions.relation(
        versions.parse_version(app_version, "the app version"),
        versions.parse_version(db_version, "schema_versions") if db_version else None,
    )
    s3 = None
    if settings.s3_bucket:
        prefix = settings.s3_prefix.strip("/")
        s3 = f"s3://{settings.s3_bucket}/{prefix + '/' if prefix else ''}"
    return Context(
        database=database.display,
        environment=settings.env,
        app_version=app_version,
        database_version=db_version,
        relation=str(relation),
        backup_dir=str(backup_root(settings).resolve()),
        s3=s3,
        approval_timeout=settings.approval_timeout,
        approval_poll_interval=settings.approval_poll_interval,
        approvers=tuple(settings.approvers),
        separate_approver=settings.separate_approver,
    )


# -- plan ------------------------------------------------------------------------------------------


def _prepare(conn: psycopg.Connection, settings: Settings, *, measure: bool = True) -> engine.Prepared:
    return engine.prepare(conn, settings, models=engine.load_models(conn, settings), measure=measure)


def plan_change(target: Target) -> PlannedChange:
    """Inspect, diff and plan (with the rows behind each hazard and in each affected table); never writes.

    In versioned mode (`alembic_ini` set) the plan is the app's pending Alembic revisions instead.
    """
    settings, database = open_target(target)
    with _session(settings, database) as conn:
        if versioned.enabled(settings):
            return _plan_migrations(conn, settings, database)
        prepared = _prepare(conn, settings)
        if not prepared.plan.empty:
            refuse_oversized(conn, prepared.diff, prepared.current, prepared.desired)  # before any backup
        affected = affected_tables(conn, prepared) if not prepared.plan.empty else ()
    plan = prepared.plan
    hazards = tuple(
        HazardNote(h.kind.name, h.fact, n, h.blocking) for n, s in enumerate(plan.statements, 1) for h in s.hazards
    )
    notes = tuple(f"Possible rename (not applied): {s.describe()}" for s in prepared.diff.suggestions) + tuple(
        f"Left alone (not in the models): {u.describe()}" for u in prepared.diff.unmanaged
    )
    return PlannedChange(
        database=database.display,
        source_hash=plan.source_hash,
        sql=plan.sql() if not plan.empty else "",
        sql_digest=digest(plan.sql(comments=False)) if not plan.empty else digest(""),
        summary=tuple(plan.summary),
        statements=len(plan.statements),
        changes=plan.change_count,
        description=plan.description,
        hazards=hazards,
        affected=affected,
        notes=notes,
        **left_out(prepared),
    )


def left_out(prepared: engine.Prepared) -> dict[str, tuple[str, ...]]:
    """The model errors and unmanaged-declared objects, described, for `PlannedChange`."""
    return {
        "model_errors": tuple(held.describe() for held in prepared.model_errors),
        "unmanaged_declared": tuple(u.describe() for u in prepared.unmanaged_declared),
    }


def check_models(planned: PlannedChange, *, allow_model_errors: bool) -> None:
    """Refuse (SS102), before any backup, to deploy models PostgreSQL cannot create whole, unless allowed.

    The rule of `sync --allow-model-errors`, with the operator's `SCHEMASYNC_ALLOW_MODEL_ERRORS=1` (the
    worker's environment, never the run's parameters: `flows/preapproval.py`) in place of the flag: without
    it, nothing is applied while part of the models cannot exist. With it, the rest is planned and the
    approver sees every object left out. Nobody can be asked here: the approval comes after the backup.
    """
    policy.model_errors_need_asking(
        planned.model_errors, allowed=allow_model_errors, can_ask=False, via=policy.Via.DEPLOY
    )


def _plan_migrations(conn: psycopg.Connection, settings: Settings, database: db.Database) -> PlannedChange:
    """The pending revisions, with their upgrade code for the approver; refuses residual drift up front."""
    state = versioned.status(conn, settings)
    prepared = _prepare(conn, settings, measure=False)
    if not state.pending and not prepared.in_sync:
        raise versioned.ResidualDrift(
            f"No Alembic revision is pending ({database.display} is at {', '.join(state.current) or 'base'}), but the "
            "database differs from the models: " + "; ".join(prepared.plan.summary) + ". Nothing was changed.",
            "Write the missing revision (schemasync generate -m '...'), or fix the models, then deploy again.",
        )
    pending = state.pending
    code = "\n\n".join(f"# {r.describe()}: {r.path}\n{_upgrade_code(r.path)}" for r in pending)
    return PlannedChange(
        database=database.display,
        source_hash=prepared.plan.source_hash,
        sql=code,
        sql_digest=digest(" ".join(r.id for r in pending)),
        summary=tuple(f"Alembic revision {r.describe()}" for r in pending),
        statements=len(pending),
        changes=len(pending),
        description="Alembic " + ", ".join(r.describe() for r in pending),
        notes=(
            "Migrations are opaque to schemasync: it cannot tell what they do to the data, so read their upgrade "
            "code below. They run in one transaction under the change lock; afterwards the database must match "
            "the models.",
        )
        if pending
        else (),
        migrations=state,
        **left_out(prepared),
    )


def _upgrade_code(path: str) -> str:
    """The `upgrade()` function of a revision file (what will run), or a note when it cannot be read."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        return f"# (could not read {path}: {exc.strerror})"
    start = text.find("def upgrade(")
    if start < 0:
        return text
    end = text.find("\ndef downgrade(", start)
    return text[start : end if end > 0 else len(text)].rstrip()


def affected_tables(conn: psycopg.Connection, prepared: engine.Prepared) -> tuple[AffectedTable, ...]:
    """Row counts of the existing tables the plan changes (exact up to 64 MB, the planner's estimate above)."""
    names = sorted(_touched(prepared.diff.changes, prepared.current))
    if not names:
        return ()
    found: list[AffectedTable] = []
    with conn.transaction(force_rollback=True):
        for schema, table in names:
            row = conn.execute(
                "SELECT pg_total_relation_size(c.oid), c.reltuples::bigint FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
                (schema, table),
            ).fetchone()
            if row is None:
                continue
            label = table if schema == "public" else f"{schema}.{table}"
            size, estimate = int(row[0]), max(int(row[1]), 0)
            if size <= EXACT_MAX_TABLE_BYTES:
                counted = conn.execute(f"SELECT count(*) FROM {ident(schema, table)}").fetchone()  # noqa: S608 (quoted identifiers)
                found.append(AffectedTable(label, int(counted[0]) if counted else 0, True))
            else:
                found.append(AffectedTable(label, estimate, False))
    return tuple(found)


def _touched(changes: tuple[object, ...], current: Schema) -> set[tuple[str, str]]:
    names: set[tuple[str, str]] = set()
    for change in changes:
        match change:
            case c.DropTable(schema=s, name=n):
                names.add((s, n))
            case c.RenameTable(schema=s, old=o):
                names.add((s, o))
            case _:
                schema, table = getattr(change, "schema", None), getattr(change, "table", None)
                if isinstance(schema, str) and isinstance(table, str):
                    names.add((schema, table))
    return names & {(t.schema, t.name) for t in current.tables}


def check_plan(planned: PlannedChange, *, pre_approved: bool, allow_destructive: bool) -> None:
    """Refuse, before any backup, a plan that would fail on the data (SS103) or that deletes data nobody
    reviewed (SS104): `sync`'s rules (`plan/policy.py`), with the approver as the person who reviews."""
    policy.check_plan(
        blocking=tuple(h.fact for h in planned.blocking),
        deleting=planned.deleting,
        reviewed=not pre_approved or allow_destructive,
        via=policy.Via.DEPLOY,
    )


# -- backup ----------------------------------------------------------------------------------------


def take_backup(target: Target, *, schema_hash: str, allow_local_only: bool = False) -> BackupInfo:
    """A verified local dump (checking the S3 bucket first, when there is one); refused with no bucket
    unless a local-only backup is allowed."""
    settings, database = open_target(target)
    policy.refuse_local_only_backup(
        database.display, bucket=bool(settings.s3_bucket), allow_local_only=allow_local_only
    )
    store = None
    if settings.s3_bucket:
        store = S3Store(settings)
        store.preflight()  # a missing or forbidden bucket fails now, not after the dump
    path, manifest, _ = write_dump(
        settings, database, schema_hash=schema_hash, part_size_for=store.part_size if store is not None else None
    )
    return _info(TakenBackup(manifest, path))


def upload_backup(target: Target, backup: BackupInfo) -> BackupInfo:
    """Upload the dump and its manifest, verified against the manifest's SHA-256; the S3 copy is what counts."""
    settings = settings_for(target)
    path = Path(backup.path)
    manifest = Manifest.loads(manifest_path(path).read_bytes())
    remote = S3Store(settings).put(path, manifest)
    return _info(TakenBackup(manifest, path, remote))


def _info(taken: TakenBackup) -> BackupInfo:
    return BackupInfo(
        id=taken.id,
        path=str(taken.path),
        size=taken.manifest.size,
        sha256=taken.manifest.sha256,
        environment=taken.manifest.environment,
        restore_command=taken.restore_command,
        remote=taken.remote.location if taken.remote is not None else None,
    )


# -- the pin: what an approval covers ---------------------------------------------------------------


def _pin(
    settings: Settings,
    database: db.Database,
    conn: psycopg.Connection,
    planned: PlannedChange,
    backup: BackupInfo | None,
    *,
    allow_destructive: bool,
    initiator: str,
) -> gate.Pin:
    host, port, dbname = gate.database_parts(database)
    return gate.Pin(
        database=database.display,
        host=host,
        port=port,
        dbname=dbname,
        system_identifier=gate.server_identity(conn),
        environment=settings.env,
        app_version=settings.app_version or "",
        models=settings.models or "",
        project_dir=str(settings.project_dir.resolve()),
        build_command=settings.build_command or "",
        verify_command=settings.verify_command or "",
        health_check_url=settings.health_check_url or "",
        prune=settings.prune,
        concurrent_indexes=settings.concurrent_indexes,
        online=settings.online,
        allow_destructive=allow_destructive,
        initiator=initiator,
        approvers=tuple(settings.approvers),
        separate_approver=settings.separate_approver,
        schema_hash=planned.source_hash,
        plan_digest=planned.sql_digest,
        backup_id=backup.id if backup else "",
        backup_sha256=backup.sha256 if backup else "",
        backup_location=backup.location if backup else "",
    )


def pin_plan(
    target: Target, planned: PlannedChange, backup: BackupInfo | None, *, allow_destructive: bool, initiator: str
) -> gate.Pin:
    """Pin what the approver is about to approve (settings, target identity, commands, backup, plan).

    The database the pin names is remembered in this process, so a refusal after the approval is
    recorded in the database that was approved even when the settings now point elsewhere.
    """
    settings, database = open_target(target)
    with _session(settings, database) as conn:
        pin = _pin(settings, database, conn, planned, backup, allow_destructive=allow_destructive, initiator=initiator)
    _pinned[pin.digest] = database
    return pin


def _pinned_settings(target: Target, pin: gate.Pin | None) -> tuple[Settings, db.Database]:
    """The settings with the approved commands, and the approved database when this process pinned it."""
    settings, database = open_target(target)
    if pin is None:
        return settings, database
    settings = settings.model_copy(
        update={
            "build_command": pin.build_command or None,
            "verify_command": pin.verify_command or None,
            "health_check_url": pin.health_check_url or None,
            "env": pin.environment,
            "app_version": pin.app_version,
        }
    )
    return settings, _pinned.get(pin.digest, database)


# -- apply -----------------------------------------------------------------------------------------


def apply_change(
    target: Target,
    *,
    approved: PlannedChange,
    pin: gate.Pin,
    decision: Decision,
    backup: BackupInfo | None,
    run_id: str,
    slot: Slot | None = None,
) -> AppliedChange:
    """Check the pin, plan again under the change slot, refuse a stale plan, apply in one transaction.

    First, everything the approval covered is pinned again from the settings as they are now and
    compared with the approved pin (`gate.refuse_if_moved`): a moved database, environment, command
    or permission refuses the run. Stale means the live schema no longer hashes to what the approved
    plan was made from, or the statements differ from the approved ones (the models changed): either
    way the approver did not see what would run. The executor checks the hash once more under the
    advisory lock.
    """
    settings, database = open_target(target)
    app_version = settings.app_version
    assert app_version is not None
    record = versions.Record(
        schema_version=app_version,
        status=versions.Status.APPLIED,
        environment=settings.env,
        app_version=app_version,
        approved_by=decision.approver,
        notes=decision.notes or None,
        backup_uri=backup.location if backup else None,
        run_id=run_id,
        applied_by=decision.applied_by,
    )

    def check_pin(conn: psycopg.Connection) -> None:
        now = _pin(
            settings,
            database,
            conn,
            approved,
            backup,
            allow_destructive=pin.allow_destructive,
            initiator=pin.initiator,
        )
        gate.refuse_if_moved(pin, now)

    if approved.migrations is not None:
        return _apply_migrations(settings, database, approved, record, slot, check_pin=check_pin)
    with (slot or _no_slot)(database), _session(settings, database) as conn:
        check_pin(conn)
        prepared = _prepare(conn, settings)
        if prepared.plan.source_hash != approved.source_hash:
            raise StalePlan(
                f"The schema of {database.display} changed after the plan was shown for approval (it was made from "
                f"{approved.source_hash[:12]}, the database is now at {prepared.plan.source_hash[:12]}): another "
                "deployment or a manual change got there first. Nothing was applied.",
                "Start a new production run to plan, back up and ask for approval against the current schema.",
            )
        if digest(prepared.plan.sql(comments=False)) != approved.sql_digest:
            raise StalePlan(
                "The plan made now differs from the approved one although the schema did not change (the models "
                "changed since); nothing was applied.",
                "Start a new production run so the approver sees the plan that would run.",
            )
        applied = apply(
            conn,
            database,
            prepared.plan,
            settings=settings,
            desired=prepared.desired,
            options=prepared.options,
            allow=policy.allowed_hazards(deletes_reviewed=True),  # the approver saw them (check_plan: pre-approved)
            record=record,
        )
    return AppliedChange(
        statements=applied.statements,
        changes=prepared.plan.change_count,
        duration_ms=applied.duration_ms,
        version_id=applied.version_id,
        schema_hash=applied.schema_hash,
        attempts=applied.attempts,
        outside=applied.outside,
    )


def _apply_migrations(
    settings: Settings,
    database: db.Database,
    approved: PlannedChange,
    record: versions.Record,
    slot: Slot | None,
    *,
    check_pin: Callable[[psycopg.Connection], None],
) -> AppliedChange:
    """Versioned mode: `alembic upgrade head` under the slot and the advisory lock, refused if the pin or the
    database's revision moved since the approver saw it; residual drift is recorded in the row and fails
    verification."""
    assert approved.migrations is not None
    with (slot or _no_slot)(database), _session(settings, database) as conn:
        check_pin(conn)
        models = engine.load_models(conn, settings)
        result = versioned.upgrade(conn, database, settings, record=record, expect=approved.migrations, models=models)
    return AppliedChange(
        statements=len(result.applied),
        changes=len(result.applied),
        duration_ms=result.duration_ms,
        version_id=result.version_id,
        schema_hash=result.schema_hash,
    )


@contextlib.contextmanager
def _no_slot(_database: db.Database):  # type: ignore[no-untyped-def]
    yield None


def record_in_sync(target: Target, *, run_id: str, slot: Slot | None = None) -> int:
    """Record the app's version for a database whose schema already matches the models."""
    settings, database = open_target(target)
    app_version = settings.app_version
    assert app_version is not None
    record = versions.Record(
        schema_version=app_version,
        status=versions.Status.RECORDED,
        environment=settings.env,
        app_version=app_version,
        run_id=run_id,
        description="The schema already matched the models; version recorded by the production workflow",
    )
    with (slot or _no_slot)(database), _session(settings, database) as conn:
        if versioned.enabled(settings):  # nothing pending: upgrade records the head and checks the models
            result = versioned.upgrade(conn, database, settings, record=record, expect=versioned.status(conn, settings))
            versioned.require_clean(result)
            assert result.version_id is not None
            return result.version_id
        prepared = _prepare(conn, settings, measure=False)
        if not prepared.in_sync:
            raise StalePlan(
                f"The schema of {database.display} changed while the version was being recorded; nothing was recorded.",
                "Start a new production run.",
            )
        return record_only(
            conn,
            database,
            settings=settings,
            current=prepared.current,
            desired=prepared.desired,
            options=prepared.options,
            record=record,
        )


def record_outcome(
    target: Target,
    *,
    status: versions.Status,
    decision: Decision | None,
    backup: BackupInfo | None,
    run_id: str,
    schema_hash: str | None,
    description: str,
    note: str | None = None,
    pin: gate.Pin | None = None,
) -> int:
    """Insert a `rejected`, `refused` or `failed` row (the audit trail keeps who decided what, and why).

    With a `pin`, the row goes to the approved database (as this process pinned it), not to wherever
    the settings point now.
    """
    settings, database = _pinned_settings(target, pin)
    app_version = settings.app_version
    assert app_version is not None
    notes = "\n".join(t for t in ((decision.notes if decision else ""), note or "") if t) or None
    with _session(settings, database) as conn, conn.transaction():
        versions.ensure_table(conn, announce=False)
        return versions.record(
            conn,
            versions.Record(
                schema_version=app_version,
                status=status,
                environment=settings.env,
                app_version=app_version,
                description=description,
                notes=secrets.scrub(notes)[:4000] if notes else None,
                schema_hash=schema_hash,
                approved_by=decision.approver if decision else None,
                backup_uri=backup.location if backup else None,
                run_id=run_id,
                applied_by=decision.applied_by if decision else None,
            ),
        )


# -- build and verify ------------------------------------------------------------------------------


def build_app(target: Target, pin: gate.Pin | None = None) -> build.CommandRun | None:
    """The build command as approved (the pinned one), never one set after the approval."""
    return build.build(_pinned_settings(target, pin)[0])


def verify_deployment(target: Target, pin: gate.Pin | None = None) -> build.DeployVerification:
    """The checks as approved, on the approved database."""
    settings, database = _pinned_settings(target, pin)
    assert settings.app_version is not None
    with _session(settings, database) as conn:
        return build.verify(conn, settings, app_version=settings.app_version)


# -- summary ---------------------------------------------------------------------------------------


def write_summary(backup_dir: str, markdown: str, *, now: datetime | None = None) -> Path:
    """Write the summary as `deploy-<UTC timestamp>.md` in the backup directory (never overwriting one)."""
    root = Path(backup_dir)
    ensure_dir(root)
    base = f"{SUMMARY_PREFIX}{stamp(now or datetime.now(UTC))}"
    text = secrets.scrub(markdown)
    for n in range(100):
        path = root / (f"{base}.md" if n == 0 else f"{base}-{n}.md")
        try:
            fh = open_private(path, "w", encoding="utf-8")  # private, like the backups beside it
        except FileExistsError:
            continue
        with fh:
            fh.write(text)
        return path
    raise FileExistsError(f"too many summaries named {base}*.md in {root}")


# -- retries ---------------------------------------------------------------------------------------


def is_transient(exc: BaseException) -> bool:
    """Whether a failed step may succeed if simply run again: a dropped connection or an S3 hiccup.

    Wrong input (bad settings, a missing bucket, refused access, a stale plan, a failing statement)
    is never transient. The cause chain is searched, because steps translate driver errors into
    SchemasyncErrors raised `from` the original.
    """
    if isinstance(exc, Corrupt):  # the local dump no longer matches its manifest: retrying cannot help
        return False
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if db.is_transient(current):
            return True
        if isinstance(current, BackupFailed) and db.transient_text(current.message):  # pg_dump's own words
            return True
        if s3_transient(current):  # network, throttling, 5xx, a damaged transfer (Corrupt from S3's copy)
            return True
        current = current.__cause__ or current.__context__
    return False


__all__ = [
    "NoOffsiteBackup",
    "Slot",
    "apply_change",
    "check_plan",
    "check_versions",
    "is_transient",
    "open_target",
    "pin_plan",
    "plan_change",
    "record_in_sync",
    "record_outcome",
    "take_backup",
    "upload_backup",
    "verify_deployment",
    "write_summary",
]
