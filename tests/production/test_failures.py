"""The production flow when things go wrong: a failed build after the apply, an S3 hiccup, no answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prefect.client.orchestration import get_client
from prefect.flow_engine import run_flow

from schemasync.deploy.model import Outcome
from schemasync.workflows.approval import Approval, answer
from schemasync.workflows.flows.production import production_deploy
from tests.fixtures.s3 import FaultProxy
from tests.flows.helpers import in_thread, read_run
from tests.production.conftest import SECRET, App, approved_by
from tests.production.helpers import everything_stored, logs, task_runs, wait_paused, wait_paused_again

pytestmark = [pytest.mark.prefect, pytest.mark.s3]


def test_a_build_failure_after_the_apply_fails_the_run_with_rollback_instructions(app: App, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # The build prints the production URL (as careless builds do) and fails.
    monkeypatch.setenv("SCHEMASYNC_BUILD_COMMAND", 'echo "building against $PROD_DATABASE_URL"; echo boom >&2; exit 3')
    _name, future = app.start(terminal=approved_by("ci"))
    state = future.result(timeout=120)

    assert state.is_failed()
    run_id = state.state_details.flow_run_id
    assert "WAS changed" in state.message and "the build failed" in state.message
    [backup] = [k for k in app.s3_objects() if k.endswith(".dump")]
    restore = f"schemasync restore s3://{app.bucket}/{backup} --env production"
    assert restore in state.message
    assert app.columns("orders") == ["id", "customer_id"], "the schema change stays committed"
    rows = app.versions()
    assert [r["status"] for r in rows] == ["initial", "applied", "failed"]
    assert rows[-1]["run_id"] == str(run_id) and "exit code 3" in rows[-1]["notes"]
    [summary] = app.summaries()
    text = summary.read_text()
    assert text.startswith("# FAILED after the schema change was applied")
    assert f"```sh\n{restore}\n```" in text
    lines = logs(run_id)
    assert any("building against postgresql://postgres:***@127.0.0.1" in line for line in lines), lines
    assert any("boom" in line for line in lines)
    stored = everything_stored(run_id)
    assert SECRET not in stored and SECRET not in text and SECRET not in rows[-1]["notes"]


@pytest.fixture
def flaky_s3(app: App, monkeypatch) -> Iterator[FaultProxy]:  # type: ignore[no-untyped-def]
    proxy = FaultProxy(app.s3.port)
    proxy.start()
    monkeypatch.setenv("SCHEMASYNC_S3_ENDPOINT_URL", proxy.endpoint)
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.mark.reliability
def test_a_transient_s3_failure_is_retried_without_a_second_backup(app: App, flaky_s3: FaultProxy) -> None:
    # S3 throttles the dump's upload: botocore's own attempts (SCHEMASYNC_S3_MAX_ATTEMPTS=1: two tries) and
    # the engine's (SCHEMASYNC_S3_UPLOAD_ATTEMPTS=1) both meet it, so the task itself has to retry.
    flaky_s3.fail_next("PUT", ".dump", times=2)
    _name, future = app.start(terminal=approved_by("ci"))
    state = future.result(timeout=120)

    assert state.is_completed(), state.message
    assert flaky_s3.seen("PUT", ".dump") == [503, 503, 200]
    runs = task_runs(state.state_details.flow_run_id)
    [upload] = runs["upload-backup"]
    assert upload.run_count == 2, "the upload task was retried once"
    assert [r.run_count for r in runs["backup"]] == [1], "the dump was taken once"
    [dump] = app.dumps()
    [key] = [k for k in app.s3_objects() if k.endswith(".dump")]
    assert app.s3_objects()[key] == dump.read_bytes()
    assert app.versions()[-1]["backup_uri"] == f"s3://{app.bucket}/{key}"


@pytest.mark.reliability
def test_no_answer_fails_the_run_unchanged_and_a_rerun_reuses_its_backup(app: App) -> None:
    name, future = app.start(approval_timeout=3)
    run = wait_paused(name)
    state = future.result(timeout=90)

    assert state.is_failed()
    assert "No approval arrived for flow run" in state.message
    assert app.columns("customers") == ["id", "name"] and app.columns("orders") == []
    refused = app.versions()[-1]
    assert [r["status"] for r in app.versions()] == ["initial", "refused"], "the audit trail says why"
    assert refused["description"] == "Not applied: no approval arrived in time" and refused["approved_by"] is None
    assert "No approval arrived" in refused["notes"] and refused["run_id"] == str(run.id)
    assert app.summaries()[0].read_text().startswith("# Stopped: nothing was applied")
    [dump] = app.dumps()
    objects = set(app.s3_objects())

    # An operator retries the failed run (as a worker would): same flow run, same parameters.
    with get_client(sync_client=True) as client:
        failed = client.read_flow_run(run.id)
    rerun = in_thread(run_flow, flow=production_deploy, flow_run=failed, return_type="state")
    wait_paused_again(run.id, run.state.id)
    assert app.dumps() == [dump] and set(app.s3_objects()) == objects, "the finished backup was reused"
    cached = task_runs(run.id)["backup"]
    assert sorted(r.state.name for r in cached) == ["Cached", "Completed"]

    answer(run.id, Approval(approve=True, approver="ann", comment="second try"))
    state = rerun.result(timeout=120)
    assert state.is_completed(), state.message
    assert state.result().outcome is Outcome.APPLIED
    assert read_run(run.id).state.is_completed()
    row = app.versions()[-1]
    assert row["status"] == "applied" and row["backup_uri"].endswith(
        dump.name.split("-v")[0].rsplit("-", 1)[1] + "-v1.1.0.dump"
    )
    assert app.dumps() == [dump]


def test_a_missing_bucket_stops_the_deployment_before_the_dump_and_is_not_retried(app: App, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SCHEMASYNC_S3_BUCKET", "no-such-bucket-for-shop")
    _name, future = app.start(terminal=approved_by("ci"))
    state = future.result(timeout=120)

    assert state.is_failed()
    assert "The S3 bucket 'no-such-bucket-for-shop' does not exist" in state.message
    runs = task_runs(state.state_details.flow_run_id)
    assert [r.run_count for r in runs["backup"]] == [1], "wrong input is never retried"
    assert "apply-change" not in runs and app.dumps() == [], "failed in a second, before pg_dump and any change"
    assert app.columns("orders") == [] and [r["status"] for r in app.versions()] == ["initial"]
