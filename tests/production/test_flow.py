"""The production flow against a real Prefect server, PostgreSQL and S3 endpoint: approve, reject, refuse."""

from __future__ import annotations

import hashlib
import json

import pytest

from schemasync.deploy.model import Outcome
from schemasync.safetext import escape_markdown
from schemasync.workflows.approval import PLAN_ARTIFACT_KEY, REQUEST_ARTIFACT_KEY, Approval, answer, pending_approvals
from schemasync.workflows.tasks.production import SUMMARY_ARTIFACT_KEY
from tests.fixtures.s3 import CREDENTIALS
from tests.production.conftest import MODELS, SECRET, App, approved_by
from tests.production.helpers import artifacts, everything_stored, task_runs, wait_paused

pytestmark = [pytest.mark.prefect, pytest.mark.s3]


def test_an_approved_change_is_backed_up_to_s3_applied_verified_and_recorded(app: App) -> None:
    name, future = app.start()
    run = wait_paused(name)

    # Before anything changes: a verified dump in S3 whose bytes are the local dump's, and the request.
    [dump] = app.dumps()
    objects = app.s3_objects()
    [key] = [k for k in objects if k.endswith(".dump")]
    assert objects[key] == dump.read_bytes()
    manifest = json.loads(objects[key.removesuffix(".dump") + ".manifest.json"])
    assert manifest["sha256"] == hashlib.sha256(dump.read_bytes()).hexdigest()
    assert app.columns("customers") == ["id", "name"], "nothing is applied before the approval"
    listed = {p.run_id: p.request for p in pending_approvals()}[str(run.id)]
    assert listed["backup"] == f"s3://{app.bucket}/{key}"
    assert listed["app_version"] == "1.1.0" and listed["database_version"] == "1.0.0"
    plan = artifacts(run.id)[PLAN_ARTIFACT_KEY].data
    for expected in ("ADD COLUMN", '"public"."orders"', "| customers | 25 |", f"s3://{app.bucket}/{key}"):
        assert expected in plan, expected
    assert "schemasync restore s3://" in plan

    answer(run.id, Approval(approve=True, approver="ann", comment="ship it"))
    state = future.result(timeout=120)

    assert state.is_completed(), state.message
    result = state.result()
    assert result.outcome is Outcome.APPLIED
    assert app.columns("customers") == ["id", "name", "email"]
    assert app.columns("orders") == ["id", "customer_id"]
    row = app.versions()[-1]
    assert row["schema_version"] == "1.1.0" and row["status"] == "applied"
    assert (row["approved_by"], row["notes"]) == ("ann", "ship it")
    assert row["backup_uri"] == f"s3://{app.bucket}/{key}"
    assert row["run_id"] == str(run.id) and row["duration_ms"] is not None
    assert app.dumps() == [dump] and [k for k in app.s3_objects() if k.endswith(".dump")] == [key]
    assert [r.run_count for r in task_runs(run.id)["backup"]] == [1], "the resumed run did not back up again"
    found = artifacts(run.id)
    assert {PLAN_ARTIFACT_KEY, REQUEST_ARTIFACT_KEY, SUMMARY_ARTIFACT_KEY} <= set(found)
    [summary] = app.summaries()
    text = summary.read_text()
    assert text == found[SUMMARY_ARTIFACT_KEY].data
    assert f"schemasync restore s3://{app.bucket}/{key} --env production" in text
    assert "approved by ann" in text
    stored = everything_stored(run.id)
    assert "Backing up postgres@127.0.0.1" in stored and "Applied 3 statements" in stored, (
        "the engine's lines are in the run's log"
    )
    assert f"postgres:{SECRET}@" not in stored
    for secret in (SECRET, CREDENTIALS["AWS_SECRET_ACCESS_KEY"]):
        assert secret not in stored
        assert secret not in text and secret not in plan
        assert all(secret.encode() not in body for body in app.s3_objects().values() if len(body) < 10_000)


def test_a_rejection_is_recorded_and_changes_nothing(app: App) -> None:
    name, future = app.start()
    run = wait_paused(name)

    answer(run.id, Approval(approve=False, approver="bob", comment="not during the sale"))
    state = future.result(timeout=90)

    assert state.is_completed(), state.message
    assert state.result().outcome is Outcome.REJECTED
    assert "Rejected by bob: not during the sale" in state.message
    assert app.columns("customers") == ["id", "name"] and app.columns("orders") == []
    row = app.versions()[-1]
    assert (row["status"], row["approved_by"], row["notes"]) == ("rejected", "bob", "not during the sale")
    assert row["run_id"] == str(run.id)
    assert "Nothing to roll back" in app.summaries()[0].read_text()


@pytest.mark.reliability
def test_a_plan_made_stale_during_the_pause_is_refused(app: App) -> None:
    name, future = app.start()
    run = wait_paused(name)
    app.pg.execute("ALTER TABLE customers ADD COLUMN note text")  # someone changes the schema meanwhile

    answer(run.id, Approval(approve=True, approver="ann", comment=""))
    state = future.result(timeout=90)

    assert state.is_failed()
    assert "changed after the plan was shown for approval" in state.message and "Nothing was applied" in state.message
    assert app.columns("customers") == ["id", "name", "note"] and app.columns("orders") == []
    assert [r["status"] for r in app.versions()] == ["initial", "refused"]
    refused = app.versions()[-1]
    assert (refused["approved_by"], refused["description"]) == ("ann", "Not applied: refused after approval by ann")
    assert "changed after the plan was shown for approval" in refused["notes"]
    summary = app.summaries()[0].read_text()
    assert summary.startswith("# Refused: nothing was applied")


@pytest.mark.reliability
def test_two_deployments_of_one_database_never_both_apply(app: App) -> None:
    first, first_done = app.start()
    second, second_done = app.start()
    runs = [wait_paused(first), wait_paused(second)]
    assert len({p.request["backup"] for p in pending_approvals() if p.run_id in {str(r.id) for r in runs}}) == 2

    for run in runs:  # approved at the same moment: both race for the change slot
        answer(run.id, Approval(approve=True, approver="ann", comment="both"))
    states = [first_done.result(timeout=120), second_done.result(timeout=120)]

    assert sorted(s.type.value for s in states) == ["COMPLETED", "FAILED"], [s.message for s in states]
    [refused] = [s for s in states if s.is_failed()]
    assert "changed after the plan was shown for approval" in refused.message
    assert [r["status"] for r in app.versions()] == ["initial", "applied", "refused"]
    assert app.columns("customers") == ["id", "name", "email"]


@pytest.mark.reliability
def test_a_deployment_waits_for_the_databases_change_slot_and_gives_up_unchanged(app: App) -> None:
    from prefect.client.orchestration import get_client

    from schemasync.db import parse_url
    from schemasync.workflows.limits import limit_name, one_change_at_a_time

    database = parse_url(app.url, "test")
    with one_change_at_a_time(database, timeout=30) as name:  # another deployment is applying to this database
        assert name == limit_name(database) and SECRET not in name
        _name, future = app.start(terminal=approved_by("ci"), slot_timeout=3)
        state = future.result(timeout=120)

    assert state.is_failed()
    assert f"holds the change slot for {database.display}" in state.message
    assert "did not release it within 3s; nothing was changed" in state.message
    assert app.columns("orders") == [] and [r["status"] for r in app.versions()] == ["initial"]
    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name(name)
    assert (limit.limit, limit.active, limit.active_slots) == (1, True, 0), "the slot is free again"

    _name, future = app.start(terminal=approved_by("ci"))  # the slot is free: the same deployment goes through
    state = future.result(timeout=120)
    assert state.is_completed(), state.message
    assert app.columns("orders") == ["id", "customer_id"]
    assert [r["status"] for r in app.versions()] == ["initial", "applied"]


def test_without_a_bucket_only_an_explicit_local_backup_goes_and_a_synced_database_only_records(
    app: App, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SCHEMASYNC_S3_BUCKET")
    _name, future = app.start(terminal=approved_by("ci"))
    state = future.result(timeout=90)

    assert state.is_failed()
    assert "No S3 bucket is configured" in state.message
    assert app.dumps() == [] and app.columns("orders") == []
    [backup] = task_runs(state.state_details.flow_run_id)["backup"]
    assert backup.run_count == 1, "wrong input is never retried"
    assert [r["status"] for r in app.versions()] == ["initial"]

    _name, future = app.start(terminal=approved_by("ci", comment="hotfix"), allow_local_backup=True)
    state = future.result(timeout=90)
    assert state.is_completed(), state.message
    [dump] = app.dumps()
    row = app.versions()[-1]
    assert row["backup_uri"] == str(dump)
    assert (row["approved_by"], row["notes"]) == ("ci", "pre-approved by ci (schemasync production --approve): hotfix")
    assert set(task_runs(state.state_details.flow_run_id)) >= {"backup", "apply-change", "verify", "write-summary"}

    _name, future = app.start(terminal=approved_by("ci"), allow_local_backup=True)
    state = future.result(timeout=90)
    assert state.is_completed() and state.result().outcome is Outcome.IN_SYNC
    assert state.message.startswith("Already in sync")
    assert len(app.versions()) == 2 and len(app.dumps()) == 1, "nothing to record, nothing to back up"

    app.set_version("1.2.0")  # a release without schema changes: the version is recorded, nothing else
    _name, future = app.start()
    state = future.result(timeout=90)
    assert state.is_completed() and state.result().outcome is Outcome.RECORDED
    row = app.versions()[-1]
    assert (row["schema_version"], row["status"]) == ("1.2.0", "recorded")
    assert len(app.dumps()) == 1 and len(app.summaries()) == 2, "summaries: the refused run and the applied one"


def test_what_nobody_reviewed_or_what_would_fail_is_refused_before_any_backup(app: App) -> None:
    app.pg.execute("ALTER TABLE customers ADD COLUMN legacy text")
    _name, future = app.start(terminal=approved_by("ci"), prune=True)  # the plan drops customers.legacy
    state = future.result(timeout=90)
    assert state.is_failed()
    assert "[SS104] The plan deletes data" in state.message and "nobody reviewed that" in state.message
    assert "legacy" in app.columns("customers") and app.dumps() == []

    # A new NOT NULL column without a default cannot go onto 25 rows: refused for everyone, up front.
    strict = MODELS.replace("email: Mapped[str | None]", "email: Mapped[str]")
    (app.project / "strictmodels.py").write_text(strict)
    _name, future = app.start(models="strictmodels:Base")
    state = future.result(timeout=90)
    assert state.is_failed()
    assert "[SS103] The plan would fail on the data as it is" in state.message and "25 rows" in state.message
    assert app.dumps() == [] and app.columns("orders") == []
    assert [r["status"] for r in app.versions()] == ["initial"]


def test_model_errors_are_refused_unless_the_operator_allows_them_and_the_approver_sees_what_is_left_out(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The models add an index PostgreSQL refuses (GIN on varchar has no default operator class) and
    a tablespace schemasync does not manage. Without SCHEMASYNC_ALLOW_MODEL_ERRORS the run applies
    nothing, pre-approved or not; with it, the approver's plan lists both beside the rest of the change."""
    models = MODELS.replace(
        "from sqlalchemy import ForeignKey, String", "from sqlalchemy import ForeignKey, Index, String"
    ) + (
        '\nIndex("ix_customers_name_words", Customer.name, postgresql_using="gin")\n'
        'Order.__table__.dialect_options["postgresql"]["tablespace"] = "pg_default"\n'
    )
    (app.project / "partial.py").write_text(models)
    _name, future = app.start(terminal=approved_by("ci"), models="partial:Base")
    state = future.result(timeout=90)
    assert state.is_failed()
    assert "[SS102] The models have 1 declared object PostgreSQL cannot create as declared" in state.message
    assert "index ix_customers_name_words on table public.customers" in state.message
    assert "SCHEMASYNC_ALLOW_MODEL_ERRORS=1" in state.message
    assert app.dumps() == [] and app.columns("orders") == []
    assert [r["status"] for r in app.versions()] == ["initial"]

    monkeypatch.setenv("SCHEMASYNC_ALLOW_MODEL_ERRORS", "1")
    name, future = app.start(models="partial:Base")
    run = wait_paused(name)
    plan = artifacts(run.id)[PLAN_ARTIFACT_KEY].data
    assert "## Model errors: left out of the plan" in plan
    assert escape_markdown("index ix_customers_name_words on table public.customers") in plan
    assert 'no default operator class for access method "gin"' in plan
    assert "## Declared but not managed" in plan and "tablespace on public.orders" in plan
    assert '"public"."orders"' in plan  # the rest of the change is planned
    answer(run.id, Approval(approve=False, approver="bob", comment="fix the index first"))
    assert future.result(timeout=90).result().outcome is Outcome.REJECTED


def test_an_online_step_failing_after_the_commit_is_a_failure_after_apply_never_nothing_applied(app: App) -> None:
    """Production plans are online: a unique index is built CONCURRENTLY after the transaction commits. A
    duplicate written while the run waits for approval makes that build fail after the commit: the run
    must say the schema WAS changed, write a `failed` row and give the restore command (it said "Stopped:
    nothing was applied" and "Nothing to roll back")."""
    models = (
        MODELS.replace("from sqlalchemy import ForeignKey, String", "from sqlalchemy import ForeignKey, Index, String")
        + '\nIndex("ux_customers_name", Customer.name, unique=True)\n'
    )
    (app.project / "unique.py").write_text(models)
    name, future = app.start(models="unique:Base")
    run = wait_paused(name)
    app.pg.execute("INSERT INTO customers (name) VALUES ('customer 1')")  # the data changes; the schema does not
    answer(run.id, Approval(approve=True, approver="ann", comment="go"))
    state = future.result(timeout=120)

    assert state.is_failed(), state.message
    assert "WAS changed: the transaction was committed" in state.message, state.message
    assert "To roll back: `schemasync restore" in state.message and "Traceback" not in state.message
    assert app.columns("orders") == ["id", "customer_id"] and "email" in app.columns("customers")
    assert [r["status"] for r in app.versions()] == ["initial", "applied", "failed"]
    [summary] = app.summaries()
    text = summary.read_text()
    assert "FAILED after the schema change was applied" in text and "Nothing to roll back" not in text


def test_the_summary_names_the_online_steps_that_ran_outside_the_transaction(app: App) -> None:
    """Issue 18: online steps are not all-or-nothing, so the deployment summary says which ran after the commit."""
    models = (
        MODELS.replace("from sqlalchemy import ForeignKey, String", "from sqlalchemy import ForeignKey, Index, String")
        + '\nIndex("ix_customers_name", Customer.name)\n'
    )
    (app.project / "indexed.py").write_text(models)
    _name, future = app.start(terminal=approved_by("ci"), models="indexed:Base")
    state = future.result(timeout=120)

    assert state.is_completed(), state.message
    [summary] = app.summaries()
    text = summary.read_text()
    assert "| outside the transaction |" in text, text
    assert 'CREATE INDEX CONCURRENTLY "ix_customers_name"' in text, text
