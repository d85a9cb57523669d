"""Persisted, cached task results: a retried run reuses its finished backup instead of taking another.

Prefect 3.9.1 behaviour proven here (see flows/README.md): with `persist_result=True` and the default
cache policy (task source + flow run id + inputs), a flow run's second attempt finds the first
attempt's result in the result storage and does not run the task again; a *new* flow run with the
same inputs does run it (fresh backup of possibly changed data). The retry also asks for approval
again: the first attempt's answer is not reused.
"""

from __future__ import annotations

import pytest

from schemasync.workflows.approval import Approval, answer
from tests.flows import sample_flows as flows
from tests.flows.helpers import in_thread, paused, unique, wait_for

pytestmark = pytest.mark.prefect


def test_a_retried_run_reuses_its_backup_and_asks_for_approval_again(prefect_api, tmp_path) -> None:
    ledger, results = tmp_path / "ledger", tmp_path / "results"
    params = {"database": "shop", "schema_hash": "abc123", "ledger": str(ledger), "results": str(results)}
    name = unique("retry")
    future = in_thread(flows.backup_then_gate.with_options(flow_run_name=name), return_state=True, **params)

    first = wait_for(name, paused, what="Paused on attempt 1")
    assert ledger.read_text().splitlines() == ["backup shop abc123"]
    stored = sorted(p.name for p in results.iterdir())
    assert len(stored) == 1, "the backup's result is persisted in the task's result storage"
    answer(first.id, Approval(approve=True, approver="ann", comment="attempt 1"))

    # attempt 1 fails after the approval; Prefect retries the run, which pauses again
    second = wait_for(name, lambda r: paused(r) and r.state.id != first.state.id, what="Paused on attempt 2")
    assert second.id == first.id
    assert ledger.read_text().splitlines() == ["backup shop abc123", "attempt approved by ann"], (
        "the retry must not take a second backup"
    )
    answer(second.id, Approval(approve=True, approver="bob", comment="attempt 2"))

    state = future.result(timeout=60)
    assert state.is_completed(), state
    result = state.result()
    assert result["approver"] == "bob", "the retry waited for a new answer"
    assert sorted(p.name for p in results.iterdir()) == stored
    assert result["backup"].startswith("file:///backups/shop-abc123-")

    # A new run of the same database and schema is a new deployment: it takes its own backup.
    other = unique("fresh")
    future = in_thread(
        flows.backup_then_gate.with_options(flow_run_name=other),
        return_state=True,
        fail_first_attempt=False,
        **params,
    )
    run = wait_for(other, paused, what="Paused")
    answer(run.id, Approval(approve=False, approver="ann", comment="enough"))
    assert future.result(timeout=60).result()["backup"] != result["backup"]
    assert [line for line in ledger.read_text().splitlines() if line.startswith("backup")] == ["backup shop abc123"] * 2
