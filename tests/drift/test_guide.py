"""deployments/README.md, run as written: every `sh` and `python` block, in order, from the repository root
(`console` blocks show other setups, such as a server behind basic auth, and are not steps).

Only site-specific values are replaced (each must appear in the guide, so it cannot drift away from
what is tested): the server's port, the name of the Prefect server's PostgreSQL database, the
application database's URL, the bucket, and RUN_ID (the id `prefect deployment run` printed). Each
`sh` block is a terminal of its own: `export` lines set its environment, and a command marked
"keeps running" is started in the background (the server, the worker) and stopped at the end. The
environment underneath holds only what a real machine has elsewhere: the S3 endpoint and credentials
(boto3's chain), the virtual environment on PATH (as after `source .venv/bin/activate`), a
temporary PREFECT_HOME, and two polling intervals shortened for the test.

The Prefect server here runs on a PostgreSQL backend (a database the guide's `createdb` makes, dropped
afterwards; the test finds the runs in it), the deployments come from `prefect deploy --all`, a process
worker runs the production deployment, `schemasync approve` lets it apply, and the drift-check
deployment the guide triggers afterwards finds the database in sync.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import ROOT, TestDB, drop_database, url_for
from tests.fixtures.net import free_port
from tests.fixtures.s3 import S3Server

pytestmark = [pytest.mark.prefect, pytest.mark.s3, pytest.mark.slow]

GUIDE = ROOT / "deployments" / "README.md"
BLOCK = re.compile(r"^```(sh|python)\n(.*?)^```", re.MULTILINE | re.DOTALL)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class Terminal:
    """One shell of the guide: its environment and the commands it left running."""

    env: dict[str, str]
    logs: Path
    background: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def run(self, line: str, n: int, timeout: float = 300) -> str:
        if line.startswith("export ") and "=" in line:
            name, _, value = line.removeprefix("export ").split("#")[0].strip().partition("=")
            self.env[name] = value
            return ""
        log = self.logs / f"{n:02d}.log"
        if "keeps running" in line:
            with log.open("wb") as out:
                self.background.append(
                    subprocess.Popen(
                        ["bash", "-c", line], cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )  # fmt: skip
            return ""
        proc = subprocess.run(
            ["bash", "-c", line], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        log.write_text(proc.stdout + proc.stderr)
        assert proc.returncode == 0, f"`{line}` exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout + proc.stderr


def blocks(text: str) -> list[tuple[str, list[str]]]:
    out = []
    for kind, body in BLOCK.findall(text):
        if kind == "sh":
            lines = [ln.strip() for ln in body.splitlines() if ln.strip() and not ln.strip().startswith("#")]
        else:
            lines = [body]
        out.append((kind, lines))
    return out


def wait_ready(api: str, server: subprocess.Popen[bytes], log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the guide's Prefect server exited {server.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{api}/ready", timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise AssertionError(f"the guide's Prefect server was not ready at {api} within {timeout}s")


FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def run_state(api: str, run_id: str) -> tuple[str, str]:
    state = httpx.get(f"{api}/flow_runs/{run_id}", timeout=10).json()["state"]
    return state["type"], state.get("message") or ""


def wait_state(api: str, run_id: str, types: set[str], timeout: float, logs: Path) -> tuple[str, str]:
    deadline = time.monotonic() + timeout
    state = ("?", "")
    while time.monotonic() < deadline:
        state = run_state(api, run_id)
        if state[0] in types:
            return state
        time.sleep(1)
    tails = "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted(logs.glob("*.log")))
    raise AssertionError(f"run {run_id} stayed {state} instead of {types} within {timeout}s\n{tails}")


@pytest.fixture
def prefect_database() -> Iterator[str]:
    """The name the guide's `createdb` gets; dropped afterwards (never created here)."""
    name = f"sstest_prefect_{uuid.uuid4().hex[:10]}"
    try:
        yield name
    finally:
        drop_database(name)


def test_guide_runs_as_written(  # type: ignore[no-untyped-def]
    pg: TestDB, prefect_database: str, s3_server: S3Server, s3_bucket: str, tmp_path: Path
) -> None:
    text = GUIDE.read_text()
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    replacements = {
        "4200": str(port),
        "127.0.0.1:5432/prefect": f"127.0.0.1:5432/{prefect_database}",
        "-U postgres prefect": f"-U postgres {prefect_database}",
        "postgresql://postgres@127.0.0.1:5432/shop": pg.url,
        "acme-db-backups": s3_bucket,
    }
    for literal in [*replacements, "RUN_ID"]:
        assert literal in text, f"the guide no longer contains {literal!r}: update this test with it"
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SCHEMASYNC_", "DATABASE_URL", "PROD_"))
    }
    base.update({k: v for k, v in s3_server.env(s3_bucket).items() if k != "SCHEMASYNC_S3_BUCKET"})
    base.update(
        {
            "PREFECT_HOME": str(tmp_path / "prefect-home"),
            "PREFECT_WORKER_QUERY_SECONDS": "2",  # default 10
            "SCHEMASYNC_APPROVAL_POLL_INTERVAL": "1",  # default 10s
            "NO_COLOR": "1",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",  # the activated venv
        }
    )
    logs = tmp_path / "logs"
    logs.mkdir()
    terminals: list[Terminal] = []
    run_id = None  # the production run the guide approves
    drift_run_id = None
    n = 0
    try:
        for kind, lines in blocks(text):
            terminal = Terminal(dict(base), logs)
            if kind == "python":
                terminal.env = dict(terminals[-1].env)  # the CI job's environment, as in the shell above it
            terminals.append(terminal)
            for written in lines:
                n += 1
                line = written
                for literal, value in replacements.items():
                    line = line.replace(literal, value)
                if kind == "python":
                    output = terminal.run(f"{sys.executable} -c {_quote(line)}", n)
                    assert UUID.search(output), output  # printed the id of the run it started
                    continue
                if run_id is not None:
                    line = line.replace("RUN_ID", run_id)
                if line.startswith("schemasync runs"):
                    wait_state(api, run_id or "", {"PAUSED"}, 240, logs)  # "once it waits"
                drift = line.startswith("prefect deployment run drift-check/")
                if drift:  # "after a deployment": the approved one has applied
                    wait_state(api, run_id or "", FINAL, 240, logs)
                output = terminal.run(line, n)
                if line.startswith("prefect server start"):
                    wait_ready(api, terminal.background[-1], logs / f"{n:02d}.log")
                if line.startswith("prefect deployment run"):
                    found = UUID.search(output)
                    assert found, output
                    if drift:
                        drift_run_id = found.group(0)
                    else:
                        run_id = found.group(0)
                if line.startswith("schemasync runs"):
                    assert run_id in output and "Runs waiting for approval" in output, output
        assert run_id is not None, "the guide triggered no deployment"

        assert drift_run_id is not None, "the guide triggered no drift check"

        state, message = wait_state(api, run_id, FINAL, 240, logs)
        assert state == "COMPLETED", message
        rows = pg.execute("SELECT status, approved_by, backup_uri FROM schema_versions WHERE status = 'applied'")
        assert len(rows) == 1 and rows[0][1] == "alice" and str(rows[0][2]).startswith(f"s3://{s3_bucket}/")
        assert (
            pg.scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'memberships'") == 1
        )
        deployments = httpx.post(f"{api}/deployments/filter", json={}, timeout=10).json()
        assert sorted(d["name"] for d in deployments) == ["drift-check", "production-deploy", "restore"]
        assert {d["work_pool_name"] for d in deployments} == {"schemasync"}
        by_name = {d["name"]: d for d in deployments}  # what prefect.yaml says, as `prefect deploy` made it
        assert [s["schedule"].get("cron") for s in by_name["drift-check"]["schedules"]] == ["7 * * * *"]
        assert by_name["production-deploy"]["schedules"] == by_name["restore"]["schedules"] == []
        assert by_name["drift-check"]["parameters"]["targets"][0]["url_env"] == "DATABASE_URL"

        # the drift check prefect.yaml defines (the example app on DATABASE_URL), run by the worker
        state, message = wait_state(api, drift_run_id, FINAL, 240, logs)
        assert (state, message) == ("COMPLETED", "1 target: 1 in sync."), message
        body = {"artifacts": {"flow_run_id": {"any_": [drift_run_id]}}}
        table = httpx.post(f"{api}/artifacts/filter", json=body, timeout=10).json()
        assert [a["key"] for a in table] == ["schemasync-drift"]

        # the server kept all of this in its PostgreSQL database, not in a SQLite file
        with psycopg.connect(url_for(prefect_database)) as conn:
            assert conn.execute("SELECT to_regclass('public.flow_run')").fetchone() == ("flow_run",), (
                f"the server made no tables in {prefect_database}: not on the PostgreSQL backend"
            )
            stored = conn.execute("SELECT count(*) FROM flow_run WHERE id IN (%s, %s)", (run_id, drift_run_id))
            assert stored.fetchone() == (2,)
        assert not list((tmp_path / "prefect-home").glob("*.db")), "the server wrote a SQLite database"
    finally:
        started = [proc for terminal in terminals for proc in terminal.background]
        for proc in reversed(started):  # the worker before the server it reports to
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=20)
        for proc in started:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _quote(code: str) -> str:
    return "'" + code.replace("'", "'\"'\"'") + "'"
