"""Prefect tasks of the production deployment: one engine call each, plain values in and out.

What each step does lives in `schemasync.deploy.steps`; a task adds only what Prefect is for:

- a name and a log line saying what happened (scrubbed of secrets: Prefect stores its logs);
- retries for transient failures only (`retry_condition_fn=transient`: a dropped connection, S3
  throttling or 5xx), never for wrong input, and none at all on `apply` and `build`;
- for `backup` and `upload`, persisted results (`persist_result=True`) under the default cache
  policy (task source + flow run + inputs): a retried or re-run flow run finds its finished backup
  for the same schema hash in the result storage and does not dump again. Every other task runs
  afresh each time (`NO_CACHE`): a plan or a check served from a cache would be a lie.
"""

from __future__ import annotations

import logging
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import DEFAULT, NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.logging import get_run_logger
from prefect.states import State

from schemasync import secrets
from schemasync.build import BuildFailed, CommandRun, DeployVerification, VerificationFailed
from schemasync.deploy import steps
from schemasync.deploy.gate import Pin
from schemasync.deploy.model import (
    AppliedChange,
    BackupInfo,
    Context,
    Decision,
    PlannedChange,
    Target,
)
from schemasync.history import versions
from schemasync.workflows.limits import one_change_at_a_time

RETRY_DELAYS = [2, 10, 30]  # seconds before the 1st, 2nd and 3rd retry


def transient(task: Any, task_run: TaskRun, state: State[Any]) -> bool:
    """`retry_condition_fn`: retry only what may succeed when simply run again."""
    exc = state.data if isinstance(state.data, BaseException) else state.result(raise_on_failure=False)
    retry = isinstance(exc, BaseException) and steps.is_transient(exc)
    if retry:
        _logger().warning("%s failed on a transient error; retrying: %s", task.name, _text(exc))
    return retry


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    return get_run_logger()


def _text(exc: BaseException) -> str:
    return secrets.scrub(getattr(exc, "message", None) or str(exc) or type(exc).__name__)


def say(message: str, *args: object, level: int = logging.INFO) -> None:
    """Log to the run (Prefect UI and console), scrubbed of every known secret."""
    _logger().log(level, "%s", secrets.scrub(message % args if args else message))


_RETRYING: dict[str, Any] = {
    "retries": len(RETRY_DELAYS),
    "retry_delay_seconds": RETRY_DELAYS,
    "retry_condition_fn": transient,
    "cache_policy": NO_CACHE,
    "persist_result": False,
}
_ONCE: dict[str, Any] = {"retries": 0, "cache_policy": NO_CACHE, "persist_result": False}
_KEPT: dict[str, Any] = {
    "retries": len(RETRY_DELAYS),
    "retry_delay_seconds": RETRY_DELAYS,
    "retry_condition_fn": transient,
    "cache_policy": DEFAULT,  # task source + flow run id + inputs (target, schema hash / backup)
    "persist_result": True,
}


@task(name="check-versions", **_RETRYING)
def check_versions(target: Target, allow_downgrade: bool = False) -> Context:
    context = steps.check_versions(target, allow_downgrade=allow_downgrade)
    say(
        "%s (%s) %s; the app is at %s (%s).",
        context.database,
        context.environment,
        f"is at version {context.database_version}" if context.database_version else "has no version recorded",
        context.app_version,
        context.relation,
    )
    return context


@task(name="plan-change", **_RETRYING)
def plan_change(target: Target) -> PlannedChange:
    planned = steps.plan_change(target)
    if planned.empty:
        say("The database matches the models: nothing to change.")
    else:
        say("Plan: %s.", planned.headline)
        for line in planned.summary:
            say("  %s", line)
        for hazard in planned.hazards:
            say("  hazard %s (statement %d): %s", hazard.kind, hazard.statement, hazard.fact, level=logging.WARNING)
    return planned


@task(name="backup", **_KEPT)
def backup(target: Target, schema_hash: str, allow_local_only: bool = False) -> BackupInfo:
    taken = steps.take_backup(target, schema_hash=schema_hash, allow_local_only=allow_local_only)
    say("Backup %s is written and verified against its SHA-256.", taken.id)
    return taken


@task(name="upload-backup", **_KEPT)
def upload_backup(target: Target, taken: BackupInfo) -> BackupInfo:
    stored = steps.upload_backup(target, taken)
    say("Backup %s uploaded to %s and verified against its SHA-256.", stored.id, stored.remote)
    return stored


@task(name="pin-plan", **_RETRYING)
def pin_plan(
    target: Target, planned: PlannedChange, taken: BackupInfo | None, *, allow_destructive: bool, initiator: str
) -> Pin:
    pin = steps.pin_plan(target, planned, taken, allow_destructive=allow_destructive, initiator=initiator)
    say(
        "The approval covers %s (server %s:%s, system identifier %s).",
        pin.digest,
        pin.host,
        pin.port,
        pin.system_identifier,
    )
    return pin


@task(name="apply-change", **_ONCE)
def apply_change(
    target: Target,
    *,
    approved: PlannedChange,
    pin: Pin,
    decision: Decision,
    taken: BackupInfo | None,
    run_id: str,
    slot_timeout: float | None = None,
) -> AppliedChange:
    applied = steps.apply_change(
        target,
        approved=approved,
        pin=pin,
        decision=decision,
        backup=taken,
        run_id=run_id,
        slot=lambda database: one_change_at_a_time(database, timeout=slot_timeout),
    )
    say(
        "Applied %d statements in one transaction in %d ms; schema_versions row %s records it.",
        applied.statements,
        applied.duration_ms,
        applied.version_id,
    )
    return applied


@task(name="record-version", **_RETRYING)
def record_in_sync(target: Target, run_id: str, slot_timeout: float | None = None) -> int:
    row = steps.record_in_sync(
        target, run_id=run_id, slot=lambda database: one_change_at_a_time(database, timeout=slot_timeout)
    )
    say("Recorded the app's version in schema_versions row %d (the schema already matched).", row)
    return row


@task(name="record-outcome", **_RETRYING)
def record_outcome(
    target: Target,
    *,
    status: versions.Status,
    decision: Decision | None,
    taken: BackupInfo | None,
    run_id: str,
    schema_hash: str | None,
    description: str,
    note: str | None = None,
    pin: Pin | None = None,
) -> int:
    row = steps.record_outcome(
        target,
        pin=pin,
        status=status,
        decision=decision,
        backup=taken,
        run_id=run_id,
        schema_hash=schema_hash,
        description=description,
        note=note,
    )
    say("Recorded %s in schema_versions row %d.", status.value, row)
    return row


def _tail(run: CommandRun) -> None:
    """The last lines a command printed (already scrubbed), one log line each."""
    for line in run.tail:
        say("  %s | %s", run.label, line)


@task(name="build-app", **_ONCE)
def build_app(target: Target, pin: Pin | None = None) -> CommandRun | None:
    try:
        run = steps.build_app(target, pin)
    except BuildFailed as exc:
        if exc.run is not None:
            _tail(exc.run)
        raise
    if run is not None:
        _tail(run)
    return run


@task(name="verify", **_RETRYING)
def verify(target: Target, pin: Pin | None = None) -> DeployVerification:
    try:
        result = steps.verify_deployment(target, pin)
    except VerificationFailed as exc:
        if exc.verification is not None and exc.verification.command is not None:
            _tail(exc.verification.command)
        raise
    if result.command is not None:
        _tail(result.command)
    return result  # schemasync.build logged each check


@task(name="write-summary", **_RETRYING)
def write_summary(backup_dir: str, markdown: str) -> str:
    path = steps.write_summary(backup_dir, markdown)
    create_markdown_artifact(secrets.scrub(markdown), key=SUMMARY_ARTIFACT_KEY, description="Deployment summary")
    say("Summary written to %s.", path)
    return str(path)


SUMMARY_ARTIFACT_KEY = "schemasync-summary"
