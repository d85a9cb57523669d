"""`schemasync production` as a shell runs it: waiting for an operator, pre-approved, and on Prefect's
ephemeral server (the README's main job)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.production.conftest import SECRET, App

pytestmark = [pytest.mark.prefect, pytest.mark.s3]


def shell_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "TERM": "dumb", **extra}


def schemasync(
    app: App, *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "schemasync", *args],
        cwd=app.project,
        env=env or shell_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_the_command_waits_for_an_operator_and_a_rejection_exits_3(app: App) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "schemasync", "production"],
        cwd=app.project,
        env=shell_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        run_id = _paused_run_of(app)
        rejected = schemasync(app, "reject", run_id, "--comment", "wrong week", "--as", "dora")
        assert rejected.returncode == 0, rejected.stderr
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, stderr[-3000:]
    assert "Rejected by dora: wrong week; nothing was changed." in stdout
    assert "will wait for approval" in stderr and "Traceback" not in stderr
    assert SECRET not in stdout + stderr
    assert app.columns("orders") == []
    assert [(r["status"], r["approved_by"]) for r in app.versions()] == [("initial", None), ("rejected", "dora")]


def _paused_run_of(app: App, timeout: float = 90) -> str:
    """The id of the paused production run whose approval request names this test's database."""
    from schemasync.workflows.approval import pending_approvals

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mine = [p.run_id for p in pending_approvals() if app.pg.name in p.request.get("database", "")]
        if mine:
            return mine[0]
        time.sleep(0.5)
    raise AssertionError(f"the production run did not pause for approval within {timeout}s")


def test_without_a_prefect_server_only_a_pre_approved_run_is_possible(app: App, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # No PREFECT_API_URL: Prefect would start a temporary server inside the process (the README's main job).
    env = {k: v for k, v in shell_env().items() if k != "PREFECT_API_URL"}
    env.update({"PREFECT_HOME": str(tmp_path / "prefect-home"), "SCHEMASYNC_S3_BUCKET": ""})

    waiting = schemasync(app, "production", env=env)
    assert waiting.returncode == 1
    assert "No Prefect API is configured" in waiting.stderr and "--approve" in waiting.stderr
    assert "Traceback" not in waiting.stderr

    # Prefect's temporary server starts inside the process: minutes on a loaded machine
    done = schemasync(app, "production", "--approve", "--allow-local-backup", env=env, timeout=420)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Deployed 1.1.0 to postgres@127.0.0.1" in done.stdout
    assert "To roll back: schemasync restore" in done.stdout
    assert SECRET not in done.stdout + done.stderr
    row = app.versions()[-1]
    assert row["status"] == "applied" and row["notes"].startswith("pre-approved by ")
    assert app.columns("orders") == ["id", "customer_id"]
