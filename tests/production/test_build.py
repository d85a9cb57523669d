"""Build and verification commands (schemasync.build): real processes, a real HTTP server, real PostgreSQL."""

from __future__ import annotations

import http.server
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemasync import build, secrets
from schemasync.config import load_settings
from tests.conftest import TestDB
from tests.production.conftest import MODELS


def test_a_command_keeps_only_its_last_lines_scrubbed(tmp_path: Path) -> None:
    secrets.register("hunter2-secret")
    run = build.run_command(
        "build", "for i in $(seq 1 100); do echo line $i; done; echo 'password hunter2-secret' >&2; exit 4",
        cwd=tmp_path, timeout=30, tail_lines=5,
    )  # fmt: skip
    assert run.returncode == 4 and not run.ok
    assert run.tail == ("line 97", "line 98", "line 99", "line 100", "password ***")
    assert "failed with exit code 4" in run.describe()


def test_a_command_past_its_timeout_is_stopped_with_its_children(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    started = time.monotonic()
    run = build.run_command("verify", f"sleep 60 & echo $! > {pidfile}; wait", cwd=tmp_path, timeout=1)
    assert run.returncode is None and "stopped after 1s" in run.outcome
    assert time.monotonic() - started < 15
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the command's child process was left running")


@pytest.fixture
def health() -> Iterator[tuple[str, dict[str, int]]]:
    state = {"status": 200}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(state["status"])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/health", state
    finally:
        server.shutdown()
        server.server_close()


def test_verification_reports_every_failed_check(pg: TestDB, tmp_path: Path, health) -> None:  # type: ignore[no-untyped-def]
    url, state = health
    state["status"] = 503
    (tmp_path / "shopmodels.py").write_text(MODELS)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nversion = "1.1.0"\n[tool.schemasync]\nmodels = "shopmodels:Base"\n'
    )
    environ = {
        "DATABASE_URL": pg.url,
        "SCHEMASYNC_VERIFY_COMMAND": "echo smoke test failed; exit 1",
        "SCHEMASYNC_HEALTH_CHECK_URL": url,
        "SCHEMASYNC_COMMAND_TIMEOUT": "2s",
    }
    settings = load_settings({"project_dir": str(tmp_path)}, environ).settings
    with pg.connect() as conn, pytest.raises(build.VerificationFailed) as failed:
        build.verify(conn, settings, app_version="1.1.0")
    result = failed.value.verification
    assert result is not None
    assert [(c.name, c.ok) for c in result.checks] == [
        ("schema matches the models", False),
        ("recorded version", False),
        ("verify command", False),
        ("health check", False),
    ]
    assert "2 new tables" in result.checks[0].detail or "new table" in result.checks[0].detail
    assert "smoke test failed" in result.checks[2].detail
    assert "HTTP 503, expected HTTP 200" in result.checks[3].detail
    assert failed.value.message.startswith("Verification failed: schema matches the models")

    state["status"] = 200
    check = build.check_health(url, 200, wait=5)
    assert check.ok and "answered HTTP 200" in check.detail
