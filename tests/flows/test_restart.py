"""The Prefect server restarted while a run waits for approval (issue 9, item 7).

The paused run lives in its own process, as in production. After the server comes back on the same
port and database, approving resumes the run, which applies exactly once. With Prefect's client
retries turned off the run's own fallback (`wait_for_approval` following the run across the
outage) is what keeps it alive; with the defaults, Prefect's client retries (about a minute in all)
cover a short restart.
"""

from __future__ import annotations

import pytest

from schemasync.workflows.approval import Approval, RunNotAwaitingApproval, answer
from tests.flows.helpers import finish, flow_process, paused, read_run, unique, wait_for

pytestmark = [pytest.mark.prefect, pytest.mark.reliability, pytest.mark.slow]


@pytest.mark.parametrize("client_retries", ["default", "0"])
def test_approval_after_a_server_restart_applies_exactly_once(prefect_api, cli, tmp_path, client_retries) -> None:
    ledger = tmp_path / "ledger"
    name = unique("restart")
    env = {} if client_retries == "default" else {"PREFECT_CLIENT_MAX_RETRIES": client_retries}
    proc = flow_process("gate", "--name", name, "--timeout", "120", "--ledger", str(ledger), env=env)
    try:
        run = wait_for(name, paused, timeout=90, what="Paused")

        prefect_api.restart(down_for=3)

        assert read_run(run.id).state.is_paused(), "the pause must survive the restart"
        approved = cli("approve", str(run.id), "--as", "gina", "--comment", "after the restart")
        assert approved.code == 0, approved.output
        outcome = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert outcome["state"] == "COMPLETED", outcome
    assert "'approver': 'gina'" in outcome["result"]
    assert ledger.read_text().splitlines() == ["applied by gina"]
    if client_retries == "0":
        assert "Lost the Prefect API while waiting for approval" in outcome["stderr"]

    with pytest.raises(RunNotAwaitingApproval, match="not paused"):
        answer(run.id, Approval(approve=True, approver="gina", comment="twice"))
    assert read_run(run.id).state.is_completed()
