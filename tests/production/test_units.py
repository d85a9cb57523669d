"""Pure pieces of the production deployment: which failures are retried, and Markdown that survives user text."""

from __future__ import annotations

import psycopg
from botocore.exceptions import ClientError

from schemasync.apply import StalePlan
from schemasync.backups.format import BackupFailed
from schemasync.backups.store import Corrupt, StoreError
from schemasync.deploy import report
from schemasync.deploy.model import Context, Decision, HazardNote, Outcome, PlannedChange, Report
from schemasync.deploy.steps import NoOffsiteBackup, is_transient
from schemasync.errors import ConfigError, ConnectionFailed


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

    assert not is_transient(_raised_from(StoreError("Access denied."), _s3_error("AccessDenied", 403)))
    assert not is_transient(_raised_from(StoreError("No bucket."), _s3_error("NoSuchBucket", 404)))
    assert not is_transient(ConnectionFailed("Authentication failed for db: the password or user is wrong."))
    assert not is_transient(Corrupt("The local dump no longer matches its manifest; it was not uploaded."))
    for wrong_input in (ConfigError("bad"), StalePlan("stale"), NoOffsiteBackup("no bucket"), ValueError("bug")):
        assert not is_transient(wrong_input)


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
