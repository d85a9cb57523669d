"""Sync: where the versions stand, decide the plan, check the policy, back up, apply, record.

One plain function per step, so `sync` and `push` (`cli/schema.py`) only parse flags, prompt and print
between them. Every refusal comes from `plan/policy.py`, the same functions the production workflow's
steps (`deploy/steps.py`) call on the plan an approver sees, so no rule is written twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

import psycopg

from schemasync import db, engine
from schemasync.apply import Applied, apply, record_only
from schemasync.backups.take import take_backup
from schemasync.config import Settings
from schemasync.diff.held import HeldError, hold
from schemasync.history import versions
from schemasync.plan import Plan, policy
from schemasync.plan.hazards import HazardKind
from schemasync.plan.locks import refuse_oversized
from schemasync.schema.model import RenameHints

log = logging.getLogger(__name__)


def standing(conn: psycopg.Connection, app_version: str, *, allow_downgrade: bool, action: str) -> str | None:
    """The database's recorded version; refused (SS101) when it is ahead of the app, unless allowed."""
    latest = versions.latest(conn)
    db_version = latest.schema_version if latest else None
    policy.refuse_downgrade(app_version, db_version, allow=allow_downgrade, action=action)
    return db_version


def decide(
    conn: psycopg.Connection, settings: Settings, models: engine.Models, hints: RenameHints, *, measure: bool = True
) -> engine.Prepared:
    """Inspect, diff and plan against `models`, with the renames given for this run; never writes."""
    return engine.prepare(conn, settings, models=models, extra_hints=hints, measure=measure)


def with_renames(
    conn: psycopg.Connection,
    settings: Settings,
    models: engine.Models,
    prepared: engine.Prepared,
    *,
    hints: RenameHints,
    accepted: RenameHints,
) -> engine.Prepared:
    """The plan again when someone accepted suggested renames (keeping the data), else the same plan."""
    if accepted == RenameHints():
        return prepared
    return decide(conn, settings, models, hints.merged(accepted))


def held_model_errors(conn: psycopg.Connection, settings: Settings, models: engine.Models) -> tuple[HeldError, ...]:
    """The declared objects PostgreSQL cannot create, without making a plan (versioned mode, where the change
    is the app's migrations): the database is inspected only when the models have such objects."""
    if not models.desired.model_errors:
        return ()
    return hold(models.desired, engine.inspect_current(conn, settings))[1]


def model_errors_need_asking(model_errors: Sequence[HeldError], *, allowed: bool, can_ask: bool) -> bool:
    """True: ask whether to apply the rest without the objects that cannot be created; refused (SS102)
    when nobody can be asked and nobody allowed it."""
    return policy.model_errors_need_asking(
        tuple(held.describe() for held in model_errors), allowed=allowed, can_ask=can_ask, via=policy.Via.SYNC
    )


def deleting(plan: Plan) -> tuple[str, ...]:
    """The facts of the plan's DELETES_DATA hazards."""
    return tuple(h.fact for h in plan.hazards if h.kind is HazardKind.DELETES_DATA)


def findings(prepared: engine.Prepared) -> tuple[policy.Finding, ...]:
    """The policy rules the plan trips (`diff --json`: what `sync` would refuse without a yes, or at all)."""
    return policy.findings(
        blocking=tuple(h.fact for h in prepared.plan.blocking()),
        deleting=deleting(prepared.plan),
        model_errors=tuple(held.describe() for held in prepared.model_errors),
    )


def check(conn: psycopg.Connection, prepared: engine.Prepared, *, reviewed: bool) -> None:
    """The policy on a plan with statements: the lock table (SS106), the data (SS103), deletions nobody
    reviewed (SS104). `reviewed`: a person at the prompt will see the plan, or --allow-destructive."""
    refuse_oversized(conn, prepared.diff, prepared.current, prepared.desired)
    policy.check_plan(
        blocking=tuple(h.fact for h in prepared.plan.blocking()),
        deleting=deleting(prepared.plan),
        reviewed=reviewed,
        via=policy.Via.SYNC,
    )


def record_for(settings: Settings, app_version: str) -> versions.Record:
    """The schema_versions row a sync writes (status, hash, counts and duration are filled in when written)."""
    return versions.Record(
        schema_version=app_version,
        status=versions.Status.APPLIED,
        environment=settings.env,
        app_version=app_version,
    )


def backup(target: db.Database, settings: Settings, prepared: engine.Prepared, *, no_backup: bool) -> str | None:
    """Take the backup the policy asks for before this plan (`backup_before_sync`); its location, or None.

    Called after the operator confirmed and before anything is applied. A failed backup stops the
    sync: nothing is applied without the backup it was promised. With a bucket configured the backup
    is uploaded and verified too, and a failed upload stops the sync as well (the local copy stays);
    without one, the backup stays on this machine and a warning says so.
    """
    destructive = prepared.plan.destructive
    if not policy.backup_required(settings.backup_before_sync, deletes_data=destructive, no_backup=no_backup):
        return None

    why = "a plan that deletes data" if destructive else "the plan (backup_before_sync = always)"
    log.info("Backing up %s before applying %s.", target.display, why)
    upload = bool(settings.s3_bucket)
    taken = take_backup(settings, target, schema_hash=prepared.plan.source_hash, upload=upload)
    if not upload:
        log.warning("No S3 bucket is configured: the backup is kept on this machine only (%s).", taken.path)
    log.info("Backup %s stored at %s; to undo this sync: %s", taken.id, taken.location, taken.restore_command)
    return taken.location


def record_in_sync(
    conn: psycopg.Connection,
    target: db.Database,
    settings: Settings,
    prepared: engine.Prepared,
    record: versions.Record,
) -> int:
    """Record the app's version for a database whose schema already matches the models."""
    note = "The schema already matched the models; version recorded"
    return record_only(
        conn,
        target,
        settings=settings,
        current=prepared.current,
        desired=prepared.desired,
        options=prepared.options,
        record=replace(record, status=versions.Status.RECORDED, description=note),
    )


def apply_plan(
    conn: psycopg.Connection,
    target: db.Database,
    settings: Settings,
    prepared: engine.Prepared,
    *,
    record: versions.Record,
    deletes_reviewed: bool,
) -> Applied:
    """Apply the plan with its version row; DELETES_DATA runs only when a person reviewed it (SS109 otherwise)."""
    log.info("Applying %d statements to %s.", len(prepared.plan.statements), target.display)
    return apply(
        conn,
        target,
        prepared.plan,
        settings=settings,
        desired=prepared.desired,
        options=prepared.options,
        allow=policy.allowed_hazards(deletes_reviewed=deletes_reviewed),
        record=record,
    )


__all__ = [
    "apply_plan",
    "backup",
    "check",
    "decide",
    "deleting",
    "findings",
    "held_model_errors",
    "model_errors_need_asking",
    "record_for",
    "record_in_sync",
    "standing",
    "with_renames",
]
