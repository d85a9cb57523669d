"""`schemasync runs`, `approve`, `reject` as a shell runs them, against the real Prefect server."""

from __future__ import annotations

import json
import uuid

import pytest
from prefect.client.orchestration import get_client

from tests.fixtures.net import free_port
from tests.flows import sample_flows as flows
from tests.flows.helpers import in_thread, paused, read_run, unique, wait_for

pytestmark = pytest.mark.prefect


def no_traceback(result) -> None:  # type: ignore[no-untyped-def]
    assert "Traceback" not in result.output, result.output


def test_runs_lists_the_paused_run_and_approve_resumes_it(prefect_api, cli, tmp_path) -> None:
    ledger = tmp_path / "ledger"
    name = unique("cli-approve")
    future = in_thread(flows.gated.with_options(flow_run_name=name), return_state=True, ledger=str(ledger), timeout=90)
    run = wait_for(name, paused, what="Paused")

    listed = cli("runs", "--json")
    assert listed.code == 0, listed.output
    mine = [r for r in json.loads(listed.stdout) if r["run_id"] == str(run.id)]
    assert len(mine) == 1
    assert mine[0]["run_name"] == name
    assert mine[0]["flow"] == "schemasync-test-gate"
    assert mine[0]["summary"] == flows.REQUEST.summary
    assert mine[0]["backup"] == flows.REQUEST.backup
    assert mine[0]["database"] == flows.REQUEST.database

    table = cli("runs")
    assert table.code == 0, table.output
    assert str(run.id) in table.stdout and flows.REQUEST.backup in table.stdout

    approved = cli("approve", str(run.id), "--comment", "ship it", "--as", "carol")
    assert approved.code == 0, approved.output
    assert f"Approved flow run {run.id}" in approved.stdout

    state = future.result(timeout=60)
    assert state.result() == {"outcome": "applied", "approve": True, "approver": "carol", "comment": "ship it"}
    assert ledger.read_text().splitlines() == ["applied by carol"]


def test_reject_resumes_the_run_with_the_reason(prefect_api, cli, tmp_path) -> None:
    ledger = tmp_path / "ledger"
    name = unique("cli-reject")
    future = in_thread(flows.gated.with_options(flow_run_name=name), return_state=True, ledger=str(ledger), timeout=90)
    run = wait_for(name, paused, what="Paused")

    missing = cli("reject", str(run.id))
    assert missing.code == 64, missing.output
    blank = cli("reject", str(run.id), "--comment", "   ")
    assert blank.code == 1 and "A rejection needs a reason" in blank.stderr
    assert read_run(run.id).state.is_paused(), "a refused command must leave the run paused"

    rejected = cli("reject", str(run.id), "--comment", "drops a column we still read", "--as", "dave")
    assert rejected.code == 0, rejected.output
    assert "Rejected" in rejected.stdout

    state = future.result(timeout=60)
    assert state.result() == {
        "outcome": "rejected",
        "approve": False,
        "approver": "dave",
        "comment": "drops a column we still read",
    }
    assert not ledger.exists()

    again = cli("reject", str(run.id), "--comment", "once more")
    assert again.code == 1
    assert "is Completed, not paused: there is nothing to approve or reject" in again.stderr
    no_traceback(again)


def test_bad_run_ids_fail_clearly(prefect_api, cli) -> None:
    bad = cli("approve", "not-a-run")
    assert bad.code == 1 and "'not-a-run' is not a flow run id" in bad.stderr
    unknown = cli("approve", str(uuid.uuid4()), "--as", "erin")
    assert unknown.code == 1 and "There is no flow run" in unknown.stderr
    empty = cli("approve", str(uuid.uuid4()), "--as", " ")
    assert empty.code == 1 and "approver's name is empty" in empty.stderr
    for result in (bad, unknown, empty):
        no_traceback(result)


def test_an_input_the_server_rejects_leaves_the_run_paused(prefect_api, cli) -> None:
    """The resume endpoint answers 200 with status REJECT when the input fails the run's schema."""
    name = unique("other-input")
    future = in_thread(flows.other_input.with_options(flow_run_name=name), return_state=True, timeout=90)
    run = wait_for(name, paused, what="Paused")

    refused = cli("approve", str(run.id), "--as", "frank")

    assert refused.code == 1, refused.output
    assert "The Prefect API refused the answer" in refused.stderr
    assert "Validation failed" in refused.stderr and "were unexpected" in refused.stderr
    assert "The run is still paused" in refused.stderr
    no_traceback(refused)
    assert read_run(run.id).state.is_paused()
    with get_client(sync_client=True) as client:
        client.resume_flow_run(run.id, run_input={"ticket": 7})
    assert future.result(timeout=60).result() == 7


def test_an_unreachable_api_fails_clearly(cli) -> None:
    down = f"http://127.0.0.1:{free_port()}/api"
    result = cli(
        "approve", str(uuid.uuid4()), env={"PREFECT_API_URL": down, "PREFECT_HOME": str(cli.project / ".prefect")}
    )
    assert result.code == 1, result.output
    assert f"The Prefect API at {down} cannot be reached" in result.stderr
    assert "prefect server start" in result.stderr
    no_traceback(result)


def test_no_configured_api_fails_clearly(cli) -> None:
    result = cli("runs", env={"PREFECT_API_URL": "", "PREFECT_HOME": str(cli.project / ".prefect")})
    assert result.code == 1, result.output
    assert "No Prefect API is configured" in result.stderr
    no_traceback(result)
