"""The Prefect API server restarted while a production deployment waits for approval (issue 9, item 7).

The deployment runs as an operator runs it: `schemasync production` in its own process, pointed at a
real Prefect server, paused for approval. The server is stopped and started again on the same port and
database; the approver then answers with `schemasync approve`, and the change is applied exactly once,
recorded once, and a second deployment finds nothing left to do. (`tests/flows/test_restart.py`
covers the approval gate on its own, also with Prefect's client retries turned off.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from schemasync.workflows.approval import pending_approvals
from tests.production.conftest import SECRET, App, app_env

pytestmark = [pytest.mark.reliability, pytest.mark.prefect, pytest.mark.s3, pytest.mark.slow]


def _waiting_run(database: str, proc: subprocess.Popen[str], timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pending in pending_approvals():
            if pending.request.get("database") == database:
                return pending.run_id
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"schemasync production exited with {proc.returncode}:\n{out}\n{err}")
        time.sleep(0.5)
    raise AssertionError("the deployment never paused for approval")


def test_approval_after_a_server_restart_applies_exactly_once(app: App, prefect_api, cli) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env.update({"NO_COLOR": "1", "COLUMNS": "200"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "schemasync", "production", "--project-dir", str(app.project)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        run_id = _waiting_run(f"postgres@127.0.0.1:5432/{app.pg.name}", proc)
        prefect_api.restart(down_for=2)
        assert app.columns("orders") == [], "nothing is applied before the approval"
        approved = cli("approve", run_id, "--as", "ann", "--comment", "after the restart")
        assert approved.code == 0, approved.output
        out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out + err
    assert app.columns("orders") == ["id", "customer_id"]
    rows = app.versions()
    assert [r["status"] for r in rows] == ["initial", "applied"], "applied exactly once"
    assert (rows[-1]["approved_by"], rows[-1]["notes"], rows[-1]["run_id"]) == ("ann", "after the restart", run_id)
    assert SECRET not in out + err

    again = cli("production", "--approve", "--project-dir", str(app.project), env=app_env(app.s3, app.bucket, app.url))
    assert again.code == 0, again.output
    assert "Already in sync" in again.output and len(app.versions()) == 2
