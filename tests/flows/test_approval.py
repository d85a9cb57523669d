"""The approval gate against a real Prefect API server: approve, reject, timeout, artifacts."""

from __future__ import annotations

import json
import uuid

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from schemasync.workflows.approval import (
    DEFAULT_PAUSE_KEY,
    PLAN_ARTIFACT_KEY,
    REQUEST_ARTIFACT_KEY,
    Approval,
    RunNotAwaitingApproval,
    answer,
    pending_approvals,
)
from tests.flows import sample_flows as flows
from tests.flows.helpers import in_thread, paused, unique, wait_for

pytestmark = pytest.mark.prefect


def start_gate(**params: object):  # type: ignore[no-untyped-def]
    name = unique("gate")
    future = in_thread(flows.gated.with_options(flow_run_name=name), return_state=True, **params)
    run = wait_for(name, paused, what="Paused")
    return name, run, future


def test_approve_resumes_the_run_with_the_approvers_answer(prefect_api, tmp_path) -> None:
    ledger = tmp_path / "ledger"
    _name, run, future = start_gate(ledger=str(ledger))
    assert run.state.state_details.pause_key == DEFAULT_PAUSE_KEY

    done = answer(str(run.id), Approval(approve=True, approver="ann", comment="looks right"))

    assert done.run_id == str(run.id)
    state = future.result(timeout=60)
    assert state.is_completed(), state
    assert state.result() == {"outcome": "applied", "approve": True, "approver": "ann", "comment": "looks right"}
    assert ledger.read_text().splitlines() == ["applied by ann"]


def test_the_approver_sees_the_plan_and_the_request(prefect_api) -> None:
    """Plan as the pause description and a Markdown artifact; request as a table artifact."""
    _name, run, future = start_gate()
    with get_client(sync_client=True) as client:
        keyset = run.state.state_details.run_input_keyset
        description = json.loads(client.read_flow_run_input(run.id, keyset["description"]))
        schema = json.loads(client.read_flow_run_input(run.id, keyset["schema"]))
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
        )
    assert description == flows.PLAN
    assert set(schema["required"]) == {"approve", "approver"}
    assert "schema_versions" in schema["properties"]["approver"]["description"]
    by_key = {a.key: a for a in artifacts}
    assert by_key[PLAN_ARTIFACT_KEY].type == "markdown"
    assert by_key[PLAN_ARTIFACT_KEY].data == flows.PLAN
    assert by_key[REQUEST_ARTIFACT_KEY].type == "table"
    row = json.loads(by_key[REQUEST_ARTIFACT_KEY].data)[0]
    assert row["backup"] == flows.REQUEST.backup
    assert row["summary"] == flows.REQUEST.summary

    listed = {p.run_id: p for p in pending_approvals()}
    assert listed[str(run.id)].request["database"] == flows.REQUEST.database
    assert listed[str(run.id)].expires_at is not None

    answer(str(run.id), Approval(approve=False, approver="bob", comment="not today"))
    assert future.result(timeout=60).is_completed()
    assert str(run.id) not in {p.run_id for p in pending_approvals()}


def test_reject_resumes_the_run_which_acts_on_it(prefect_api, tmp_path) -> None:
    ledger = tmp_path / "ledger"
    _name, run, future = start_gate(ledger=str(ledger))

    answer(str(run.id), Approval(approve=False, approver="bob", comment="wrong column type"))

    state = future.result(timeout=60)
    assert state.is_completed(), state
    assert state.result() == {
        "outcome": "rejected",
        "approve": False,
        "approver": "bob",
        "comment": "wrong column type",
    }
    assert not ledger.exists(), "a rejected run must not apply anything"


def test_no_answer_within_the_timeout_fails_the_run(prefect_api, tmp_path) -> None:
    ledger = tmp_path / "ledger"
    _name, run, future = start_gate(timeout=2, ledger=str(ledger))

    state = future.result(timeout=60)

    assert state.is_failed(), state
    assert "ApprovalTimeout: No approval arrived for flow run" in state.message, state.message
    assert "within 2s, so the run stops before applying anything" in state.message
    assert not ledger.exists()
    with pytest.raises(RunNotAwaitingApproval, match="is Failed, not paused"):
        answer(str(run.id), Approval(approve=True, approver="late", comment=""))


def test_answering_twice_is_refused(prefect_api) -> None:
    _name, run, future = start_gate()
    answer(str(run.id), Approval(approve=True, approver="ann", comment=""))
    with pytest.raises(RunNotAwaitingApproval):
        answer(str(run.id), Approval(approve=False, approver="bob", comment="too late"))
    assert future.result(timeout=60).result()["approver"] == "ann"


def test_an_unknown_run_is_reported(prefect_api) -> None:
    with pytest.raises(RunNotAwaitingApproval, match="There is no flow run"):
        answer(str(uuid.uuid4()), Approval(approve=True, approver="ann", comment=""))
