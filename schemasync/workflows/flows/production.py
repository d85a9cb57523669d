"""The production deployment as a Prefect flow: the guide's `sync:production`, step by step.

versions -> plan -> (nothing to change: record the version if behind, done) -> backup -> verified S3
upload -> approval (pause) -> rejected: record who and why, done | approved: apply (re-inspected,
stale plans refused, one transaction, version row) -> build -> verify -> summary with rollback.

Rules this follows (see flows/README.md for the Prefect 3.9.1 facts behind them):
- Retries live on the tasks (transient errors only), not on the flow: resuming from the approval
  pause counts as a run, so flow retries would be used up by the pause.
- The per-database concurrency slot is held only around re-inspect/apply/record (inside the
  `apply-change` task), never across the pause, which can last hours.
- Backup and upload results are persisted and keyed by flow run + inputs (schema hash): a retried
  run reuses its finished backup instead of dumping again.
- Parameters are a pydantic model (the Prefect UI's run form) of names and settings only: the
  database URL comes from the settings or an environment variable named by `database_url_env`,
  never from a parameter, because Prefect stores parameters.
- After the apply commits, a failing build or verification ends the run Failed with a `failed` row
  and a summary saying the schema WAS applied and giving the exact restore command.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run
from prefect.states import Completed, State
from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemasync import secrets
from schemasync.deploy import gate, steps
from schemasync.deploy import report as markdown
from schemasync.deploy.gate import ApproverNotAllowed, Pin
from schemasync.deploy.model import (
    AppliedChange,
    BackupInfo,
    Context,
    Decision,
    Outcome,
    PlannedChange,
    Report,
    Result,
    Target,
)
from schemasync.errors import CommittedApplyFailed, Refused, SchemasyncError
from schemasync.history import versions
from schemasync.workflows import preapproval
from schemasync.workflows.approval import (
    PLAN_ARTIFACT_KEY,
    Approval,
    ApprovalRequest,
    ApprovalTimeout,
    InvalidAnswer,
    wait_for_approval,
)
from schemasync.workflows.logs import forward_engine_logs
from schemasync.workflows.results import local_result_storage
from schemasync.workflows.tasks import production as t

RESULTS_DIR = ".prefect-results"  # inside the backup directory (hidden: `backups list` ignores it)


class DeploymentFailed(SchemasyncError):
    """A step after the apply failed: the schema change is committed, the deployment is not complete."""


class ProductionOptions(BaseModel):
    """What to deploy and how. This is the run form in the Prefect UI; it never holds a URL or a password."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    project_dir: str = Field(
        ".",
        title="Project directory",
        description="Directory of the app's pyproject.toml ([project].version, [tool.schemasync] settings, models), "
        "on the machine running the flow.",
    )
    environment: str = Field(
        "production",
        pattern=r"^[a-z][a-z0-9_-]{0,19}$",
        description="Environment recorded in schema_versions; 'production' reads PROD_DATABASE_URL or PROD_DB_*.",
    )
    database_url_env: str | None = Field(
        None,
        title="Database URL variable",
        description="Name of the environment variable holding the database URL where the flow runs (for example "
        "PROD_DATABASE_URL). Never the URL itself: Prefect stores parameters. Empty: the settings decide.",
    )
    models: str | None = Field(None, description="module:attribute of the models (default: the project's setting).")
    app_version: str | None = Field(None, description="App version to deploy (default: the project's version).")
    allow_local_backup: bool = Field(
        False, description="Accept a backup kept only on this machine when no S3 bucket is configured."
    )
    allow_destructive: bool = Field(
        False,
        description="Ask that a pre-approved run may apply a plan that deletes data; only granted where the worker "
        "sets SCHEMASYNC_ALLOW_PRE_APPROVAL=destructive. Otherwise an approver sees the plan.",
    )
    allow_downgrade: bool = Field(False, description="Deploy even though the database is at a newer version.")
    prune: bool = Field(False, description="Also drop tables, columns, enums and sequences the models do not have.")
    concurrent_indexes: bool = Field(
        False, description="Build indexes on existing tables CONCURRENTLY, after the transaction."
    )
    online: bool = Field(
        True, description="Online plan: lock-light steps on existing tables, long ones after the transaction."
    )
    approval_timeout: float | None = Field(
        None, gt=0, description="Seconds to wait for approval (default: the approval_timeout setting, 24 h)."
    )
    poll_interval: float | None = Field(
        None, gt=0, description="Seconds between checks for an answer (default: the approval_poll_interval setting)."
    )
    slot_timeout: float = Field(
        1800, gt=0, description="Seconds to wait for another deployment on the same database to finish applying."
    )
    pre_approved_by: str | None = Field(
        None,
        max_length=200,
        description="Ask to skip the approval pause, pre-approved by this person. Honoured only where the worker "
        "sets SCHEMASYNC_ALLOW_PRE_APPROVAL (schemasync/workflows/preapproval.py); otherwise the run waits for an approver.",
    )
    comment: str = Field("", max_length=2000, description="Comment recorded with a pre-approval.")

    @field_validator("database_url_env")
    @classmethod
    def _name_not_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if "://" in value or "@" in value or "=" in value:
            raise ValueError(
                "give the NAME of an environment variable holding the URL (for example PROD_DATABASE_URL), "
                "never the URL itself: Prefect stores parameters"
            )
        if not value.replace("_", "a").isalnum() or value[0].isdigit():
            raise ValueError("not an environment variable name (letters, digits and _, not starting with a digit)")
        return value

    def target(self) -> Target:
        return Target(
            project_dir=str(Path(self.project_dir).expanduser().resolve()),
            environment=self.environment,
            database_url_env=self.database_url_env,
            models=self.models,
            app_version=self.app_version,
            prune=self.prune,
            concurrent_indexes=self.concurrent_indexes,
            online=self.online,
        )


def _run_name() -> str:
    options = flow_run.parameters.get("options")
    env = getattr(options, "environment", None) or (options or {}).get("environment", "production")
    return f"deploy-{env}-{datetime.now(UTC):%Y%m%d-%H%M%S}"


@flow(name="schemasync-production", flow_run_name=_run_name, retries=0, log_prints=False)
def production_deploy(options: ProductionOptions | None = None) -> State[Any]:
    """Deploy the app's schema: plan, back up off-site, ask for approval, apply, build, verify, record."""
    options = options or ProductionOptions()
    forward_engine_logs()
    preapproval.refuse_run_overrides(options)
    target = options.target()
    run_id = str(flow_run.id)
    initiator = preapproval.initiator()
    started = time.monotonic()
    report = Report(run_id=run_id, started_at=datetime.now(UTC).isoformat(timespec="seconds"))
    report = replace(report, project_dir=target.project_dir)

    context = t.check_versions(target, options.allow_downgrade)
    report = replace(report, context=context).step(
        "versions", True, f"database {context.database_version or 'none recorded'}, app {context.app_version}"
    )
    planned = t.plan_change(target)
    report = replace(report, planned=planned)
    try:
        steps.check_models(planned, allow_model_errors=preapproval.model_errors_allowed())
    except Refused as exc:
        _finish(report, started, Outcome.REFUSED, _text(exc))
        raise
    if planned.empty:
        return _already_in_sync(target, context, planned, run_id, options)
    report = report.step("plan", True, planned.headline)

    try:
        pre, allow_destructive = _pre_approval(options, context, planned, initiator)
        steps.check_plan(planned, pre_approved=pre is not None, allow_destructive=allow_destructive)
        taken = _backup(target, context, planned, options)
        report = replace(report, backup=taken).step("backup", True, f"{taken.location} (verified)")
        pin = t.pin_plan(target, planned, taken, allow_destructive=allow_destructive, initiator=initiator)
        if pre is not None:
            decision = _publish_pre_approved(context, planned, taken, pin, run_id=run_id, decision=pre)
        else:
            answered: Decision | None = None
            try:
                answered = _ask(options, context, planned, taken, pin, run_id=run_id)
                if answered.approve:
                    gate.check_approver(
                        answered.approver, initiator=initiator, approvers=pin.approvers, separate=pin.separate_approver
                    )
            except (ApprovalTimeout, InvalidAnswer, ApproverNotAllowed) as exc:
                row = _record_refusal(target, report, run_id, exc, _why(exc), decision=answered, pin=pin)
                report = replace(report, version_id=row or report.version_id)
                raise
            decision = answered
    except Exception as exc:
        _finish(report, started, Outcome.REFUSED if isinstance(exc, Refused) else Outcome.STOPPED, _text(exc))
        raise
    decision = replace(decision, initiator=initiator)
    report = replace(report, decision=decision).step(
        "approval", decision.approve, f"{'approved' if decision.approve else 'rejected'} by {decision.approver}"
    )

    if not decision.approve:
        row = t.record_outcome(
            target,
            status=versions.Status.REJECTED,
            decision=decision,
            taken=taken,
            run_id=run_id,
            schema_hash=planned.source_hash,
            description=f"Rejected: {planned.description or planned.headline}",
            pin=pin,
        )
        message = f"Rejected by {decision.approver}" + (f": {decision.comment}" if decision.comment else "")
        message += "; nothing was changed."
        path = _finish(replace(report, version_id=row), started, Outcome.REJECTED, message, task=True)
        return _completed(
            Outcome.REJECTED, message=message, context=context, run_id=run_id, taken=taken, row=row, summary=path
        )

    try:
        applied = t.apply_change(
            target,
            approved=planned,
            pin=pin,
            decision=decision,
            taken=taken,
            run_id=run_id,
            slot_timeout=options.slot_timeout,
        )
    except Exception as exc:
        if isinstance(exc, CommittedApplyFailed):  # an online step after the commit: the change IS in place
            raise _failed_after_commit(target, report, started, exc, run_id=run_id, pin=pin) from exc
        if isinstance(exc, Refused):  # a stale plan, a moved pin or revision: approved, and still not applied
            why = f"refused after approval by {decision.approver}"
            row = _record_refusal(target, report, run_id, exc, why, decision=decision, pin=pin)
            report = replace(report, version_id=row or report.version_id)
        _finish(report, started, Outcome.REFUSED if isinstance(exc, Refused) else Outcome.STOPPED, _text(exc))
        raise
    report = replace(report, applied=applied, version_id=applied.version_id).step(
        "apply",
        True,
        f"{applied.statements} statements, {applied.duration_ms} ms"
        + (f", {len(applied.outside)} of them outside the transaction" if applied.outside else ", in one transaction"),
    )

    try:
        run = t.build_app(target, pin)
        report = report.step("build", True, run.describe() if run else "no build command configured")
        checks = t.verify(target, pin)
        for check in checks.checks:
            report = report.step(f"verify: {check.name}", True, check.detail)
    except Exception as exc:
        raise _failed_after_apply(target, report, started, exc, run_id=run_id, pin=pin) from exc

    message = (
        f"Deployed {context.app_version} to {context.database} ({context.environment}): "
        f"{applied.statements} statements applied, verified, recorded in schema_versions row {applied.version_id}."
    )
    path = _finish(report, started, Outcome.APPLIED, message, task=True)
    return _completed(
        Outcome.APPLIED,
        message=message,
        context=context,
        run_id=run_id,
        taken=taken,
        row=applied.version_id,
        summary=path,
    )


# -- the steps' glue -------------------------------------------------------------------------------


def _already_in_sync(
    target: Target, context: Context, planned: PlannedChange, run_id: str, options: ProductionOptions
) -> State[Any]:
    """Nothing to apply. Said "in sync" only when everything the models declare was compared."""
    matches, title = "matches the models", "Already in sync"
    if not planned.complete:
        title = "Nothing to apply"
        items = [f"model error: {e}" for e in planned.model_errors]
        items += [f"unmanaged-declared: {u}" for u in planned.unmanaged_declared]
        matches = "has nothing to apply, but not everything the models declare was compared (" + "; ".join(items) + ")"
    if context.in_step:
        message = f"{title}: {context.database} {matches} and is at version {context.app_version}."
        return _completed(Outcome.IN_SYNC, message=message, context=context, run_id=run_id)
    row = t.record_in_sync(target, run_id, options.slot_timeout)
    message = (
        f"{title}: {context.database} {matches}; recorded version {context.app_version} "
        f"(was {context.database_version or 'none recorded'}) in schema_versions row {row}."
    )
    return _completed(Outcome.RECORDED, message=message, context=context, run_id=run_id, row=row)


def _backup(target: Target, context: Context, planned: PlannedChange, options: ProductionOptions) -> BackupInfo:
    """Dump, then upload; both persisted next to the backups so a retried run reuses them."""
    storage = local_result_storage(Path(context.backup_dir) / RESULTS_DIR)
    taken = t.backup.with_options(result_storage=storage)(target, planned.source_hash, options.allow_local_backup)
    if context.s3:
        taken = t.upload_backup.with_options(result_storage=storage)(target, taken)
    return taken


def _pre_approval(
    options: ProductionOptions, context: Context, planned: PlannedChange, initiator: str
) -> tuple[Decision | None, bool]:
    """Whether this run skips the pause (and may apply a destructive plan unreviewed): see schemasync/workflows/preapproval.py.

    The terminal's `--approve` is the person at it approving, under the approvers rules; a run's
    `pre_approved_by` stands only where the operator allows it and the plan is one they allowed. A
    request that does not stand is logged and the run waits for an approver, who sees the plan.
    """
    here = preapproval.terminal()
    if here is not None:
        if not here.approve:
            return None, False
        gate.check_approver(
            here.user, initiator=here.user, approvers=context.approvers, separate=context.separate_approver
        )
        return Decision(True, here.user, here.comment, pre_approved=True), here.allow_destructive
    asked = options.pre_approved_by
    if not asked:
        return None, False
    allowed = preapproval.allowed()
    destructive_ok = allowed is preapproval.Allowed.DESTRUCTIVE and options.allow_destructive
    why = ""
    if allowed is preapproval.Allowed.NOTHING:
        why = f"this worker does not allow pre-approved runs ({preapproval.ALLOW_VARIABLE} is not set)"
    elif context.separate_approver:
        why = "separate-approver is set, and a pre-approval is the run's creator approving"
    elif context.approvers and not any(gate.same_person(asked, name) for name in context.approvers):
        why = f"{asked!r} is not one of the approvers ({', '.join(context.approvers)})"
    elif planned.destructive and not destructive_ok:
        why = "the plan deletes data, which an approver must see"
    if why:
        t.say("The run asks to be pre-approved by %s, but %s: it waits for an approver.", asked, why)
        return None, False
    source = f"pre_approved_by, allowed by {preapproval.ALLOW_VARIABLE} on the worker"
    return Decision(True, asked, options.comment, pre_approved=True, source=source), destructive_ok


def _publish_pre_approved(
    context: Context, planned: PlannedChange, taken: BackupInfo, pin: Pin, *, run_id: str, decision: Decision
) -> Decision:
    text = markdown.plan_markdown(context, planned, taken, run_id=run_id, pin=pin)
    create_markdown_artifact(text, key=PLAN_ARTIFACT_KEY, description="Plan (pre-approved run)")
    t.say("Pre-approved by %s; no approval pause.", decision.approver)
    return decision


def _ask(
    options: ProductionOptions, context: Context, planned: PlannedChange, taken: BackupInfo, pin: Pin, *, run_id: str
) -> Decision:
    """Pause for an approver's answer."""
    answer: Approval = wait_for_approval(
        markdown.plan_markdown(context, planned, taken, run_id=run_id, pin=pin),
        request=ApprovalRequest(
            database=context.database,
            environment=context.environment,
            app_version=context.app_version,
            database_version=context.database_version,
            summary=planned.headline + (f": {planned.summary[0]}" if planned.summary else ""),
            hazards=[f"{h.kind}: {h.fact}" for h in planned.hazards],
            backup=taken.location,
            plan_hash=planned.source_hash,
            covers=pin.digest,
            initiator=pin.initiator,
            approvers=list(pin.approvers),
            separate_approver=pin.separate_approver,
        ),
        timeout=max(1, round(options.approval_timeout or context.approval_timeout)),
        poll_interval=max(1, round(options.poll_interval or context.approval_poll_interval)),
    )
    return Decision(answer.approve, answer.approver, answer.comment)


def _why(exc: Exception) -> str:
    if isinstance(exc, ApprovalTimeout):
        return "no approval arrived in time"
    if isinstance(exc, InvalidAnswer):
        return "the run was resumed without a valid approval"
    return "the approver is not allowed to approve this run"


def _record_refusal(
    target: Target,
    report: Report,
    run_id: str,
    exc: Exception,
    why: str,
    *,
    decision: Decision | None,
    pin: Pin | None = None,
) -> int | None:
    """A `refused` row for a plan that was put up for approval and then not applied, so the audit trail
    says what was asked, who approved it (if anyone) and why nothing changed. Written directly (not as a
    task): after an expired pause the server refuses to start tasks for the run. A failure to write it is
    logged and never hides the run's own outcome."""
    assert report.planned is not None
    try:
        return t.record_outcome.fn(
            target,
            status=versions.Status.REFUSED,
            decision=decision,
            taken=report.backup,
            run_id=run_id,
            schema_hash=report.planned.source_hash,
            description=f"Not applied: {why}",
            note=_text(exc),
            pin=pin,
        )
    except Exception as record_error:
        t.say("Could not record the refusal in schema_versions: %s", _text(record_error))
        return None


def _failed_after_apply(
    target: Target, report: Report, started: float, exc: Exception, *, run_id: str, pin: Pin
) -> DeploymentFailed:
    """The build or verification failed after the apply: the change is in place."""
    step = "build" if not any(s.step == "build" for s in report.steps) else "verification"
    what = _text(exc)
    assert report.context is not None and report.applied is not None
    ctx, applied = report.context, report.applied
    return _changed_then_failed(
        target,
        report.step(step, False, what),
        started,
        run_id=run_id,
        pin=pin,
        description=f"Applied, then the {step} failed",
        note=what,
        message=(
            f"The schema of {ctx.database} ({ctx.environment}) WAS changed: {applied.statements} statements were "
            f"applied and version {ctx.app_version} recorded (schema_versions row {applied.version_id}), "
            f"but then the {step} failed: {what}"
        ),
        hint=f"Fix the {step} and run the deployment again (the schema is already in place), or roll back with the "
        "restore command.",
    )


def _failed_after_commit(
    target: Target, report: Report, started: float, exc: CommittedApplyFailed, *, run_id: str, pin: Pin
) -> DeploymentFailed:
    """An online step after the committed transaction failed: the schema change and its `applied` row are in
    place, so this is a failure after the apply (a `failed` row, the rollback command), never "nothing applied"."""
    what = _text(exc)
    planned, ctx = report.planned, report.context
    assert planned is not None and ctx is not None
    applied = AppliedChange(
        statements=planned.statements,
        changes=planned.changes,
        duration_ms=0,
        version_id=None,
        schema_hash=planned.source_hash,
    )
    return _changed_then_failed(
        target,
        replace(report, applied=applied).step("apply", False, what),
        started,
        run_id=run_id,
        pin=pin,
        description="Applied (the transaction was committed), then a step after it failed",
        note=what,
        message=(
            f"The schema of {ctx.database} ({ctx.environment}) WAS changed: the transaction was committed and "
            f"version {ctx.app_version} recorded, but a step after it failed: {what}"
        ),
        hint="Run the deployment again to finish (the next plan resumes the steps after the transaction: it "
        "validates what was left NOT VALID and rebuilds an invalid index), or roll back with the restore command.",
    )


def _changed_then_failed(
    target: Target,
    report: Report,
    started: float,
    *,
    run_id: str,
    pin: Pin,
    description: str,
    note: str,
    message: str,
    hint: str,
) -> DeploymentFailed:
    """Record a `failed` row, write the summary with the rollback command, and say all of it in the error."""
    assert report.applied is not None
    row = None
    try:
        row = t.record_outcome.fn(
            target,
            status=versions.Status.FAILED,
            decision=report.decision,
            taken=report.backup,
            run_id=run_id,
            schema_hash=report.applied.schema_hash,
            description=description,
            note=note,
            pin=pin,
        )
    except Exception as record_error:  # the summary and the error still say what happened
        report = report.step("record failure", False, _text(record_error))
    path = _finish(replace(report, version_id=row or report.version_id), started, Outcome.FAILED, message)
    rollback = (
        f" To roll back: `{report.backup.restore_command}` (from {target.project_dir})."
        if report.backup is not None
        else " No backup was taken, so there is nothing to restore from."
    )
    return DeploymentFailed(message + rollback + (f" Summary: {path}." if path else ""), hint)


def _finish(report: Report, started: float, outcome: Outcome, message: str, *, task: bool = False) -> str | None:
    """Publish the summary (artifact and file). Outside the happy path the run may already be failed on the
    server (an expired approval), where Prefect refuses to start tasks: then it is written directly."""
    final = replace(report, outcome=outcome, message=message, seconds=time.monotonic() - started)
    text = markdown.summary_markdown(final)
    if report.context is None:
        return None
    try:
        if task:
            return t.write_summary(report.context.backup_dir, text)
        return t.write_summary.fn(report.context.backup_dir, text)
    except Exception as exc:  # never hide the run's own outcome behind a failure to write about it
        t.say("Could not write the deployment summary: %s", _text(exc))
        return None


def _completed(
    outcome: Outcome,
    *,
    message: str,
    context: Context,
    run_id: str,
    taken: BackupInfo | None = None,
    row: int | None = None,
    summary: str | None = None,
) -> State[Any]:
    t.say("%s", message)
    result = Result(
        outcome=outcome,
        message=secrets.scrub(message),
        database=context.database,
        environment=context.environment,
        app_version=context.app_version,
        database_version=context.database_version,
        run_id=run_id,
        backup=taken.location if taken else None,
        restore_command=taken.restore_command if taken else None,
        version_id=row,
        summary_path=summary,
    )
    return Completed(message=result.message, data=result)


def _text(exc: BaseException) -> str:
    return secrets.scrub(getattr(exc, "message", None) or str(exc) or type(exc).__name__)
