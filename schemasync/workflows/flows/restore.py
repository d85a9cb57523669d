"""The `schemasync-restore` flow: put a verified backup back, with the same approval gate as a change.

verify (fetch, SHA-256 against the manifest, table of contents, what the target holds now) -> show
what comes back and what it replaces (artifact `schemasync-restore-plan`) -> approval (pause; skipped
only when the worker allows the run's pre-approval, schemasync/workflows/preapproval.py) -> rejected: nothing restored, a
`rejected` row | refused (not an allowed approver, no valid answer, no answer in time): nothing restored, a
`refused` row, Failed | approved: pg_restore in one
transaction under the change lock; the engine records a `restore` row in schema_versions -> summary
(artifact `schemasync-restore`).

Run manually (the `restore` deployment has no schedule). The approval gate is the production flow's
(`schemasync/workflows/approval.py`), so `schemasync runs` lists a waiting restore and `schemasync approve` /
`reject` answer it. Parameters name where the URL lives (settings for the environment, or
`database_url_env`), never the URL: Prefect stores parameters.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run
from prefect.states import Completed, State
from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemasync import db, secrets
from schemasync.backups import restore
from schemasync.config import Settings, load_settings
from schemasync.deploy import gate
from schemasync.deploy.gate import ApproverNotAllowed
from schemasync.errors import ConfigError, Refused
from schemasync.history import versions
from schemasync.safetext import escape_markdown as md
from schemasync.workflows import preapproval
from schemasync.workflows.approval import Approval, ApprovalRequest, ApprovalTimeout, InvalidAnswer, wait_for_approval
from schemasync.workflows.logs import forward_engine_logs
from schemasync.workflows.tasks.restore import restore_backup, verify_backup

PLAN_KEY = "schemasync-restore-plan"
OTHER_DATABASE_ENV = preapproval.OTHER_DATABASE_VARIABLE  # the operator's: never from the run's own job variables
SUMMARY_KEY = "schemasync-restore"


class RestoreOptions(BaseModel):
    """Which backup goes back where (the run form in the Prefect UI); never a URL or a password."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    backup: str = Field(
        description="The backup: an id as `schemasync backups list` shows it, latest, a path, or an s3:// URI."
    )
    project_dir: str = Field(".", description="Directory of the app's pyproject.toml on the machine running the flow.")
    environment: str = Field(
        "production",
        pattern=r"^[a-z][a-z0-9_-]{0,19}$",
        description="Environment; 'production' reads PROD_DATABASE_URL or PROD_DB_* where the flow runs.",
    )
    database_url_env: str | None = Field(
        None,
        title="Database URL variable",
        description="Name of the environment variable holding the database URL (never the URL itself).",
    )
    target_db: str | None = Field(None, description="Restore side by side into this new database on the same server.")
    source: Literal["local", "s3"] | None = Field(None, description="Take the copy from local or s3.")
    no_owner: bool = Field(False, description="Do not restore object ownership.")
    from_other_database: bool = Field(
        False,
        description="Restore a backup of another database or environment; takes effect only where the flow runs "
        f"with {OTHER_DATABASE_ENV}=1.",
    )
    approval_timeout: float | None = Field(None, gt=0, description="Seconds to wait for approval (default: setting).")
    poll_interval: float | None = Field(None, gt=0, description="Seconds between checks for an answer.")
    pre_approved_by: str | None = Field(
        None,
        max_length=200,
        description="Ask to skip the approval pause, pre-approved by this person. Honoured only where the worker "
        "sets SCHEMASYNC_ALLOW_PRE_APPROVAL=destructive (or =1 for a restore into a new database); otherwise the "
        "run waits for an approver.",
    )

    @field_validator("database_url_env")
    @classmethod
    def _name_not_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if "://" in value or "@" in value or "=" in value:
            raise ValueError(
                "give the NAME of an environment variable holding the URL, never the URL: Prefect stores parameters"
            )
        return value.strip()


def resolve(options: RestoreOptions) -> tuple[Settings, db.Database]:
    """The settings of the project and environment, and the database they (or database_url_env) point at."""
    loaded = load_settings({"project_dir": options.project_dir, "env": options.environment})
    if options.database_url_env:
        value = os.environ.get(options.database_url_env, "").strip()
        if not value:
            raise ConfigError(
                f"The environment variable {options.database_url_env} (the database to restore into) is not set "
                "where this flow runs.",
                "Set it in the worker's environment (or the deployment's job variables), or leave "
                "database_url_env empty to use the environment's settings.",
            )
        secrets.register(value)  # whatever variable the run names, its value never reaches an error message
        return loaded.settings, db.parse_url(value, f"environment variable {options.database_url_env}")
    return loaded.settings, db.resolve(loaded.settings, dict(loaded.sources))


def plan_markdown(plan: restore.RestorePlan) -> str:
    verb = "Create" if plan.create else "Replace the contents of"
    lines = [
        f"# Restore {md(plan.backup.id)} into {md(plan.target.display)}",
        "",
        f"{verb} {md(plan.target.display)} from this backup. Approving runs `pg_restore` in one transaction: "
        "the tables in the backup are dropped and recreated with the backup's data.",
        "",
        "| | |",
        "|---|---|",
        *[f"| {md(label)} | {md(text)} |" for label, text in restore.describe(plan)],
    ]
    return secrets.scrub("\n".join(lines) + "\n")


def _pre_approved(options: RestoreOptions, settings: Settings, plan: restore.RestorePlan) -> bool:
    """Whether the run's `pre_approved_by` stands (schemasync/workflows/preapproval.py): the worker allows it for this kind of
    restore, and the approvers rules accept it. Otherwise the request is logged and an approver is asked."""
    asked = options.pre_approved_by
    if not asked:
        return False
    allowed = preapproval.allowed()
    why = ""
    if allowed is preapproval.Allowed.NOTHING:
        why = f"this worker does not allow pre-approved runs ({preapproval.ALLOW_VARIABLE} is not set)"
    elif not plan.create and allowed is not preapproval.Allowed.DESTRUCTIVE:
        why = f"the restore replaces data, which needs {preapproval.ALLOW_VARIABLE}=destructive on the worker"
    elif settings.separate_approver:
        why = "separate-approver is set, and a pre-approval is the run's creator approving"
    elif settings.approvers and not any(gate.same_person(asked, name) for name in settings.approvers):
        why = f"{asked!r} is not one of the approvers ({', '.join(settings.approvers)})"
    if why:
        get_run_logger().warning(
            "%s", secrets.scrub(f"The restore asks to be pre-approved by {asked}, but {why}: it waits for an approver.")
        )
    return not why


def _ask(options: RestoreOptions, settings: Settings, plan: restore.RestorePlan, text: str, initiator: str) -> Approval:
    """Pause for an approver's answer (an approval the rules accept, or a rejection).

    A rejection, no answer in time, an invalid answer or an approver the rules refuse each leave a row in
    the target's schema_versions (`rejected` / `refused`), like a production run's.
    """
    manifest = plan.backup.manifest
    run_id = str(flow_run.id)
    answer: Approval | None = None
    try:
        answer = wait_for_approval(
            text,
            request=ApprovalRequest(
                database=plan.target.display,
                environment=settings.env,
                app_version=manifest.app_version if manifest else None,
                database_version=plan.state.schema_version if plan.state else None,
                summary=f"restore backup {plan.backup.id} ({len(plan.backup_tables)} tables)",
                hazards=([] if plan.create else [f"DELETES_DATA: replaces {len(plan.backup_tables)} tables"])
                + ([f"OTHER_DATABASE: {plan.other_origin}"] if plan.other_origin else []),
                backup=plan.backup.location,
                initiator=initiator,
                approvers=list(settings.approvers),
                separate_approver=settings.separate_approver,
            ),
            timeout=max(1, round(options.approval_timeout or settings.approval_timeout)),
            poll_interval=max(1, round(options.poll_interval or settings.approval_poll_interval)),
        )
        if answer.approve:
            gate.check_approver(
                answer.approver, initiator=initiator, approvers=settings.approvers, separate=settings.separate_approver
            )
    except (ApprovalTimeout, InvalidAnswer, ApproverNotAllowed) as exc:
        why = {
            ApprovalTimeout: "no approval arrived in time",
            InvalidAnswer: "the run was resumed without a valid approval",
            ApproverNotAllowed: "the approver is not allowed to approve this restore",
        }[type(exc)]
        restore.record_decision(
            plan,
            settings,
            status=versions.Status.REFUSED,
            description=f"Not restored: {why}",
            approver=answer.approver if answer else None,
            notes=secrets.scrub(exc.message),
            run_id=run_id,
            initiator=_known(initiator),
        )
        raise
    if not answer.approve:
        restore.record_decision(
            plan,
            settings,
            status=versions.Status.REJECTED,
            description=f"Rejected: restore of backup {plan.backup.id}",
            approver=answer.approver,
            notes=answer.comment or None,
            run_id=run_id,
            initiator=_known(initiator),
        )
    return answer


def _known(initiator: str) -> str | None:
    """schema_versions.applied_by: who started the run, when Prefect says (else the engine's user@host)."""
    return None if initiator == gate.UNKNOWN else initiator


@flow(name="schemasync-restore", description="Restore a verified backup after approval, and record it.")
def restore_database(options: RestoreOptions) -> State[Any]:
    """Verify, ask (unless pre-approved), restore, record."""
    forward_engine_logs()
    preapproval.refuse_run_overrides(options)
    logger = get_run_logger()
    initiator = preapproval.initiator()
    settings, target = resolve(options)
    if options.from_other_database and os.environ.get(OTHER_DATABASE_ENV) != "1":
        raise Refused(
            "Not restored: from_other_database is set, but where this flow runs the operator has not allowed "
            f"restoring a backup of another database or environment ({OTHER_DATABASE_ENV} is not 1).",
            f"Set {OTHER_DATABASE_ENV}=1 in the worker's environment (or the deployment's job variables) for "
            "the time of this restore, or restore a backup of this database.",
        )
    plan = verify_backup(
        options.backup,
        settings,
        target,
        target_db=options.target_db,
        source=options.source,
        no_owner=options.no_owner,
        from_other_database=options.from_other_database,
    )
    text = plan_markdown(plan)
    create_markdown_artifact(text, key=PLAN_KEY, description="What the restore brings back and what it replaces")
    if _pre_approved(options, settings, plan):
        approver, comment = options.pre_approved_by or "", "pre-approved"
        logger.info("%s", secrets.scrub(f"Restore pre-approved by {approver}"))
    else:
        answer = _ask(options, settings, plan, text, initiator)
        approver, comment = answer.approver, answer.comment
        if not answer.approve:
            message = secrets.scrub(
                f"Rejected by {approver}: nothing was restored." + (f" ({comment})" if comment else "")
            )
            create_markdown_artifact(f"# Restore rejected\n\n{md(message)}\n", key=SUMMARY_KEY, description=md(message))
            return Completed(message=message)
    result = restore_backup(plan, settings)
    recorded = f"; recorded version {result.recorded_version} as a restore" if result.recorded_version else ""
    message = secrets.scrub(
        f"Restored {plan.backup.id} into {plan.target.display} in {result.seconds:.1f}s{recorded} "
        f"(approved by {approver}{': ' + comment if comment else ''})."
    )
    create_markdown_artifact(
        f"# Restored {md(plan.backup.id)}\n\n{md(message)}\n\nFrom {md(plan.backup.location)}.\n",
        key=SUMMARY_KEY,
        description=md(message),  # Prefect renders a description as Markdown too; the comment is the approver's text
    )
    return Completed(message=message)
