"""Markdown for people: the plan put in front of the approver, and the summary of a deployment.

The plan says what would run and what it risks (versions, SQL with its hazards, row counts of the
tables it touches, the backup and its restore command), so that approving it is an informed yes.
The summary says what happened, step by step, and always how to get back: the exact restore
command of the backup taken before the change. Both are scrubbed of secrets before they leave.

Every value placed in them (names from the models and the database, versions, paths, what people
typed) goes through `safetext.escape_markdown` or `safetext.markdown_code`: a table named
`x\n## Hazards\nNone` must read as a name, not add a heading to the plan an approver trusts.
"""

from __future__ import annotations

from schemasync import secrets
from schemasync.deploy.gate import Pin
from schemasync.deploy.model import BackupInfo, Context, Outcome, PlannedChange, Report
from schemasync.safetext import escape_markdown as md
from schemasync.safetext import fence
from schemasync.safetext import markdown_code as code
from schemasync.units import human_size

MAX_SQL_CHARS = 100_000  # beyond this the approver is pointed at `schemasync diff --sql`

_TITLES = {
    Outcome.IN_SYNC: "Already in sync",
    Outcome.RECORDED: "Already in sync; version recorded",
    Outcome.APPLIED: "Deployed",
    Outcome.REJECTED: "Rejected: nothing was changed",
    Outcome.REFUSED: "Refused: nothing was applied",
    Outcome.STOPPED: "Stopped: nothing was applied",
    Outcome.FAILED: "FAILED after the schema change was applied",
}


def _rows(rows: list[tuple[str, str | None]]) -> list[str]:
    """A two-column table of our labels and values already made Markdown (`md`, `code`)."""
    lines = ["| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows if v not in (None, "")]
    return lines


def _optional(value: object) -> str | None:
    return None if value in (None, "") else md(value)


def backup_rows(backup: BackupInfo | None) -> list[tuple[str, str | None]]:
    if backup is None:
        return [("backup", "none")]
    where = backup.remote or f"{backup.path} (local only)"
    return [
        ("backup", md(f"{where}, {human_size(backup.size)}, SHA-256 {backup.sha256[:16]}… verified")),
        ("restore command", code(backup.restore_command)),
    ]


def plan_markdown(
    context: Context, planned: PlannedChange, backup: BackupInfo | None, *, run_id: str, pin: Pin | None = None
) -> str:
    """What the approver reads (the `schemasync-plan` artifact and the resume form's text)."""
    lines = [
        f"# Schema change for {md(context.database)} ({md(context.environment)})",
        "",
        *_rows(
            [
                ("database", md(context.database)),
                ("environment", md(context.environment)),
                ("database version", md(context.database_version or "none recorded")),
                ("app version", _optional(context.app_version)),
                ("plan", md(planned.headline)),
                ("made from schema", code(planned.source_hash[:16])),
                *backup_rows(backup),
                ("flow run", md(run_id)),
            ]
        ),
        "",
        "## What changes",
        "",
        *[f"- {md(line)}" for line in planned.summary],
        *[f"- _{md(note)}_" for note in planned.notes],
        *_left_out(planned),
        "",
        "## Hazards",
        "",
    ]
    if planned.hazards:
        lines += ["| statement | kind | fact |", "|---|---|---|"]
        lines += [f"| {h.statement} | {md(h.kind)} | {md(h.fact)} |" for h in planned.hazards]
    elif planned.versioned:
        lines.append("Not known: schemasync cannot see inside migrations; read their code below.")
    else:
        lines.append("None: every statement is additive and safe on existing data.")
    if planned.affected:
        lines += ["", "## Rows in the tables it changes", "", "| table | rows |", "|---|---|"]
        lines += [
            f"| {md(t.name)} | {t.rows:,}{'' if t.exact else ' (estimate)'} |"
            for t in sorted(planned.affected, key=lambda t: t.name)
        ]
    lines += ["", *_code_section(planned, approval=True)]
    if pin is not None:
        lines += [
            "",
            "## What the approval covers",
            "",
            "The run pins these at plan time; if any differs after the approval, it applies nothing.",
            "",
            *_rows([(label, md(value)) for label, value in pin.rows()]),
        ]
    lines += [
        "",
        "## Answer",
        "",
        f'- approve: `schemasync approve {run_id} --comment "..."`',
        f'- reject: `schemasync reject {run_id} --comment "why"`',
        "- or resume the run in the Prefect UI and fill in the form.",
        "",
    ]
    return secrets.scrub("\n".join(lines))


def _left_out(planned: PlannedChange) -> list[str]:
    """What the plan does not cover: never folded into "what changes", so an approval is not a blind one."""
    lines: list[str] = []
    if planned.model_errors:
        lines += [
            "",
            "## Model errors: left out of the plan",
            "",
            "The models declare these, but PostgreSQL cannot create them as declared; the database's copies are "
            "kept as they are (allowed by the operator's SCHEMASYNC_ALLOW_MODEL_ERRORS):",
            "",
            *[f"- {md(e)}" for e in planned.model_errors],
        ]
    if planned.unmanaged_declared:
        lines += [
            "",
            "## Declared but not managed",
            "",
            "The models declare these, but schemasync neither creates nor compares them: the database may lack them.",
            "",
            *[f"- {md(u)}" for u in planned.unmanaged_declared],
        ]
    return lines


def summary_markdown(report: Report) -> str:
    """The deployment summary (artifact `schemasync-summary` and `deploy-<timestamp>.md`)."""
    outcome = report.outcome or Outcome.STOPPED
    ctx = report.context
    title = _TITLES[outcome]
    where = f"{ctx.database} ({ctx.environment})" if ctx else "the database"
    rows: list[tuple[str, str | None]] = [
        ("outcome", md(outcome.value)),
        ("database", _optional(ctx.database if ctx else None)),
        ("environment", _optional(ctx.environment if ctx else None)),
        ("versions", md(f"{(ctx.database_version or 'none recorded')} -> {ctx.app_version}") if ctx else None),
        ("flow run", md(report.run_id)),
        ("started", md(report.started_at)),
        ("duration", f"{report.seconds:.1f} s" if report.seconds is not None else None),
    ]
    if report.planned is not None and not report.planned.empty:
        rows.append(("plan", md(report.planned.headline)))
    if report.decision is not None:
        d = report.decision
        verb = "approved" if d.approve else "rejected"
        rows.append(("decision", md(f"{verb} by {d.approver}" + (" (pre-approved)" if d.pre_approved else ""))))
        if d.comment:
            rows.append(("comment", md(d.comment)))
    if report.applied is not None:
        a = report.applied
        rows.append(("applied", f"{a.statements} statements in {a.duration_ms} ms"))
        if a.outside:  # online steps: not all-or-nothing, so the summary names them
            rows.append(("outside the transaction", "; ".join(code(line) for line in a.outside)))
    if report.version_id is not None:
        rows.append(("schema_versions row", str(report.version_id)))
    rows += backup_rows(report.backup) if report.backup or (report.planned and not report.planned.empty) else []
    lines = [f"# {md(title)}: {md(where)}", ""]
    if report.message:
        lines += [md(report.message), ""]
    lines += _rows(rows)
    if report.steps:
        lines += ["", "## Steps", ""]
        lines += [f"- {'✓' if s.ok else '✗'} **{md(s.step)}**: {md(s.detail)}" for s in report.steps]
    lines += ["", "## Rollback", ""]
    lines += _rollback(report)
    if report.planned is not None and report.planned.sql and outcome in (Outcome.APPLIED, Outcome.FAILED):
        lines += ["", *_code_section(report.planned, approval=False)]
    lines.append("")
    return secrets.scrub("\n".join(lines))


def _code_section(planned: PlannedChange, *, approval: bool) -> list[str]:
    """The SQL of a planned change, or the upgrade code of the Alembic revisions in versioned mode."""
    code = planned.sql
    if len(code) > MAX_SQL_CHARS:
        more = "`schemasync diff --sql` prints all of it" if not planned.versioned else "see the revision files"
        code = code[:MAX_SQL_CHARS] + f"\n-- ... (truncated here; {more})"
    if planned.versioned:
        title = "## Alembic revisions (their upgrade code" + (
            "; they run only if the database's revision is unchanged at approval)" if approval else ", as applied)"
        )
        return [title, "", fence(code, "python")]
    title = (
        "## SQL (runs in one transaction; applied only if the schema is unchanged at approval)"
        if approval
        else "## SQL that was applied"
    )
    return [title, "", fence(code, "sql")]


def _rollback(report: Report) -> list[str]:
    backup = report.backup
    applied = report.applied is not None
    where = f" from the project directory ({code(report.project_dir)})" if report.project_dir else ""
    if not applied:
        text = ["Nothing to roll back: the schema was not changed by this run."]
        if backup is not None:
            text.append(f"The backup taken before it stays available: {code(backup.restore_command)}.")
        return text
    if backup is None:
        return ["The schema change is committed and no backup was taken, so there is nothing to restore from."]
    return [
        "The schema change is committed. To return the database to its state before this deployment, "
        f"restore the backup taken just before it{where}:",
        "",
        fence(backup.restore_command, "sh"),
        "",
        "Restoring replaces the database's contents with the backup: rows written since the backup are lost. "
        "Add `--target-db NAME` to restore side by side first and compare.",
    ]
