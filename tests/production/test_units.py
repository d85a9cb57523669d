"""Pure pieces of the production deployment: which failures are retried, and Markdown that survives user text."""

from __future__ import annotations

from dataclasses import replace

import psycopg
import pytest
from botocore.exceptions import ClientError

from schemasync import db
from schemasync.apply import StalePlan
from schemasync.backups.format import BackupFailed
from schemasync.backups.store import Corrupt, StoreError
from schemasync.deploy import report, steps
from schemasync.deploy.model import Context, Decision, HazardNote, Outcome, PlannedChange, Report
from schemasync.deploy.steps import NoOffsiteBackup, is_transient
from schemasync.errors import ConfigError, ConnectionFailed, ExitCode
from schemasync.plan import policy


def _s3_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutObject"
    )


def _raised_from(error: Exception, cause: BaseException) -> Exception:
    try:
        raise error from cause
    except Exception as exc:
        return exc


def test_only_transient_failures_are_retried() -> None:
    dropped = psycopg.OperationalError("server closed the connection unexpectedly")
    assert is_transient(_raised_from(ConnectionFailed("Database error on db: lost."), dropped))
    assert is_transient(_raised_from(StoreError("The upload failed."), _s3_error("SlowDown", 503)))
    assert is_transient(_raised_from(StoreError("The upload failed."), _s3_error("InternalError", 500)))
    assert is_transient(BackupFailed("pg_dump failed on db: server closed the connection unexpectedly; no backup."))
    # One definition (db.is_transient) for connecting again and for running a step again
    ssl = psycopg.OperationalError("SSL SYSCALL error: EOF detected")
    assert db.is_transient(ssl) and is_transient(_raised_from(ConnectionFailed("Database error on db."), ssl))
    assert is_transient(BackupFailed("pg_dump: error: connection to server at ... failed: Connection refused"))
    assert not db.is_transient(psycopg.OperationalError('password authentication failed for user "app"'))

    assert not is_transient(_raised_from(StoreError("Access denied."), _s3_error("AccessDenied", 403)))
    assert not is_transient(_raised_from(StoreError("No bucket."), _s3_error("NoSuchBucket", 404)))
    assert not is_transient(ConnectionFailed("Authentication failed for db: the password or user is wrong."))
    assert not is_transient(Corrupt("The local dump no longer matches its manifest; it was not uploaded."))
    for wrong_input in (ConfigError("bad"), StalePlan("stale"), NoOffsiteBackup("no bucket"), ValueError("bug")):
        assert not is_transient(wrong_input)


def test_the_check_steps_refuse_with_the_codes_sync_refuses_with() -> None:
    """The production flow's checks are `sync`'s rules (`plan/policy.py`): same codes, the approver in place of
    the prompt, and nothing lets a plan through that is certain to fail on the data."""
    fails = HazardNote("DATA_DEPENDENT", "users has 2 rows with NULL in fullname", 1, blocking=True)
    drops = HazardNote("DELETES_DATA", "drops column users.legacy and its values in 2 rows", 2)
    planned = PlannedChange("db", "a" * 64, "", "d", statements=2, changes=2, hazards=(fails, drops))
    with pytest.raises(policy.PolicyRefused) as failing:
        steps.check_plan(planned, pre_approved=False, allow_destructive=True)
    assert failing.value.code == "SS103" and failing.value.exit_code is ExitCode.REFUSED
    assert failing.value.message.startswith("[SS103] The plan would fail on the data as it is")

    deleting = replace(planned, hazards=(drops,))
    steps.check_plan(deleting, pre_approved=False, allow_destructive=False)  # an approver sees it
    steps.check_plan(deleting, pre_approved=True, allow_destructive=True)
    with pytest.raises(policy.PolicyRefused) as unreviewed:
        steps.check_plan(deleting, pre_approved=True, allow_destructive=False)
    assert unreviewed.value.code == "SS104" and "nobody reviewed that" in unreviewed.value.message

    broken = replace(planned, hazards=(), model_errors=("index ix_words on table public.customers: no operator class",))
    steps.check_models(broken, allow_model_errors=True)
    with pytest.raises(policy.PolicyRefused) as model_errors:
        steps.check_models(broken, allow_model_errors=False)
    assert model_errors.value.code == "SS102" and "SCHEMASYNC_ALLOW_MODEL_ERRORS=1" in model_errors.value.message + (
        model_errors.value.hint or ""
    )
    assert NoOffsiteBackup("no bucket").message == "[SS107] no bucket"
    assert StalePlan("stale").code == "SS108"
    assert [rule.code for rule in policy.RULES] == [f"SS{n}" for n in range(101, 110)], "codes are never reused"


def test_user_text_cannot_break_the_markdown() -> None:
    context = Context("app@db:5432/shop", "production", "1.1.0", "1.0.0", "app ahead", "/b", None, 60, 1)
    planned = PlannedChange(
        database=context.database,
        source_hash="a" * 64,
        sql='ALTER TABLE "t" ADD COLUMN "x" text DEFAULT \'```\';',
        sql_digest="d",
        summary=("Found 1 new column: t.x",),
        statements=1,
        changes=1,
        hazards=(HazardNote("LOCKING", "rewrites t | (2 GB)", 1),),
    )
    plan = report.plan_markdown(context, planned, None, run_id="r1")
    assert "| 1 | LOCKING | rewrites t \\| (2 GB) |" in plan
    assert "````sql\n" in plan, "a fence longer than any backtick run in the SQL"

    done = Report(
        run_id="r1",
        started_at="2026-01-01T00:00:00+00:00",
        context=context,
        planned=planned,
        decision=Decision(False, "bob", "no | never\n# not a heading"),
        outcome=Outcome.REJECTED,
        message="Rejected by bob.",
    )
    text = report.summary_markdown(done)
    assert "| comment | no \\| never # not a heading |" in text
    assert "\n# not a heading" not in text
    assert "Nothing to roll back" in text


def test_production_plans_are_online_by_default_and_the_approver_is_told(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import fields, replace

    from schemasync.deploy import gate
    from schemasync.deploy.model import Target
    from schemasync.deploy.steps import settings_for

    assert settings_for(Target(project_dir=str(tmp_path))).online is True
    assert settings_for(Target(project_dir=str(tmp_path), online=False)).online is False
    values = {f.name: "x" for f in fields(gate.Pin)} | {"approvers": ()}
    values |= {f.name: False for f in fields(gate.Pin) if f.type == "bool"}
    pin = gate.Pin(**values | {"online": True})  # type: ignore[arg-type]
    assert ("online plan", "yes: long steps run after the transaction") in pin.rows()
    assert gate.differences(pin, replace(pin, online=False)) == ["online was yes, is now no"]


def test_separate_approver_refuses_every_approval_when_the_initiator_is_unknown() -> None:
    """Fail closed: on a self-hosted Prefect server nobody is recorded as the run's creator, and a two-person
    rule that cannot tell who the first person was must not let the creator approve under another name."""
    import pytest

    from schemasync.deploy import gate

    with pytest.raises(gate.ApproverNotAllowed, match="who started this run is unknown"):
        gate.check_approver("erin", initiator=gate.UNKNOWN, approvers=(), separate=True)
    with pytest.raises(gate.ApproverNotAllowed, match="started this run and cannot also approve it"):
        gate.check_approver(" Dora ", initiator="dora", approvers=(), separate=True)
    gate.check_approver("erin", initiator="dora", approvers=(), separate=True)  # someone else: allowed
    gate.check_approver("erin", initiator=gate.UNKNOWN, approvers=("erin",), separate=False)  # the rule is off
