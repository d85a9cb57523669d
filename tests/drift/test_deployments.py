"""The drift check as operators run it: deployments from prefect.yaml, served, triggered and scheduled.

One served process (`deployments/serve.py`, which builds the deployments from prefect.yaml) on the
session's real Prefect server; a run through `run_deployment` over four databases (in sync, drifted,
unreachable, and one behind a password whose URL lives in a Prefect Secret block), checked through
the API: final state, artifacts, the drift events, logs free of the password. Then a run the
schedule starts on its own (a 15 s interval instead of the hourly cron).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, TestDB
from tests.drift import helpers
from tests.fixtures.pg import PasswordServer

pytestmark = [pytest.mark.prefect, pytest.mark.slow]

SERVED = ("drift-check", "restore")
INTERVAL = 15  # seconds between scheduled drift checks in the test (prefect.yaml: hourly cron)


@pytest.fixture
def served(prefect_api, pg: TestDB, fleet_dbs: dict[str, TestDB], tmp_path: Path) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    """`python deployments/serve.py` with a short drift interval; the example app's database is `pg` (empty)."""
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "DATABASE_URL": pg.url,
        "SHOP_US_URL": fleet_dbs["drifted"].url,
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",  # pick runs up within a second (default 10 s)
    }
    only = [arg for name in SERVED for arg in ("--only", name)]
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "deployments/serve.py", *only, "--drift-interval", str(INTERVAL)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield log
    finally:
        _forget_deployments()  # no schedule left creating runs for the rest of the session
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the server and its flow-run children: no graceful drain
        proc.wait()


def _forget_deployments() -> None:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        for flow_name, name in (("drift-check", "drift-check"), ("schemasync-restore", "restore")):
            with contextlib.suppress(ObjectNotFound):
                client.delete_deployment(client.read_deployment_by_name(f"{flow_name}/{name}").id)


def _deployment(name: str, log: Path, timeout: float = 90) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with get_client(sync_client=True) as client:
                return client.read_deployment_by_name(name)
        except ObjectNotFound:
            time.sleep(0.5)
    raise AssertionError(f"deployment {name} never appeared; serve.py said:\n{log.read_text()[-3000:]}")


def _events(api_url: str, flow_run_id: uuid.UUID, expected: int, timeout: float = 30) -> list[dict[str, Any]]:
    """The run's drift events as the server stored them (events are persisted asynchronously)."""
    body = {
        "filter": {
            "event": {"name": ["schemasync.drift.detected"]},
            "any_resource": {"id": [f"prefect.flow-run.{flow_run_id}"]},
            "occurred": {"since": "2000-01-01T00:00:00Z"},
        },
        "limit": 50,
    }
    deadline = time.monotonic() + timeout
    events: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        response = httpx.post(f"{api_url}/events/filter", json=body, timeout=10)
        response.raise_for_status()
        events = response.json()["events"]
        if len(events) >= expected:
            return events
        time.sleep(0.5)
    raise AssertionError(f"expected {expected} drift events for run {flow_run_id}, found {len(events)}")


def test_drift_check_deployment_triggered_and_scheduled(  # type: ignore[no-untyped-def]
    prefect_api, served: Path, fleet_dbs: dict[str, TestDB], password_pg: PasswordServer, tmp_path: Path
) -> None:
    from prefect.blocks.system import Secret
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId, LogFilter, LogFilterFlowRunId
    from prefect.deployments import run_deployment

    project = helpers.make_project(tmp_path / "app")
    Secret(value=password_pg.url("postgres")).save("vault-db-url", overwrite=True)
    drift = _deployment("drift-check/drift-check", served)
    restore = _deployment("schemasync-restore/restore", served)

    # What prefect.yaml says arrived: schedules, parameters, tags; restore is manual
    assert drift.parameters["targets"] == [
        {
            "name": "example-app",
            "url_env": "DATABASE_URL",
            "models": "exampleapp.models:Base",
            "project_dir": "examples/app",
        }
    ]
    assert "drift" in drift.tags and len(drift.schedules) == 1
    assert drift.schedules[0].schedule.interval.total_seconds() == INTERVAL  # --drift-interval replaced the cron
    # no deployment concurrency limit: a run paused for approval would be crashed by its lease (flows/README.md)
    assert restore.schedules == [] and restore.global_concurrency_limit is None
    assert restore.parameters["options"]["backup"] == "latest"

    targets = [
        {"name": "shop-eu", "url": fleet_dbs["synced"].url, "project_dir": str(project)},
        {"name": "shop-us", "url_env": "SHOP_US_URL", "project_dir": str(project)},
        {"name": "billing", "url": helpers.unreachable_url(), "project_dir": str(project)},
        {"name": "vault", "url_secret": "vault-db-url", "project_dir": str(project)},
    ]
    run = run_deployment("drift-check/drift-check", parameters={"targets": targets}, timeout=180)
    assert run.state is not None and run.state.is_final(), run.state
    assert run.state.is_failed() and run.state.name == "Failed"
    assert run.state.message == "4 targets: 1 in sync, 2 drifted (shop-us, vault), 1 not checked (billing)."

    with get_client(sync_client=True) as client:
        artifacts = {a.key: a for a in client.read_artifacts() if a.flow_run_id == run.id}
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
    table = json.loads(artifacts["schemasync-drift"].data)  # type: ignore[arg-type]
    rows = {row["target"]: row for row in table}
    assert list(rows) == ["shop-eu", "shop-us", "billing", "vault"]
    assert rows["shop-eu"] | {"database": ""} == {
        "target": "shop-eu",
        "database": "",
        "environment": "development",
        "app version": "2.0.0",
        "database version": "2.0.0",
        "in sync": "yes",
        "changes": "0",
        "destructive changes": "",
        "status": "in sync",
    }
    assert (rows["shop-us"]["in sync"], rows["shop-us"]["changes"], rows["shop-us"]["database version"]) == (
        "no",
        "2",
        "1.9.0",
    )
    assert rows["shop-us"]["destructive changes"] == (
        "numeric(10,4) -> numeric(10,2) on items.price rounds values to 2 decimal places"
    )
    assert rows["billing"]["in sync"] == "unknown"
    assert rows["billing"]["status"].startswith("unreachable: Nothing is accepting connections")
    assert rows["vault"]["database"] == f"postgres@127.0.0.1:{password_pg.port}/postgres"
    # a Markdown plan per drifted target, none for the others
    plans = sorted(k for k in artifacts if k.startswith("schemasync-drift-"))
    assert plans == ["schemasync-drift-shop-us", "schemasync-drift-vault"]
    assert 'ALTER TABLE "public"."items" ADD COLUMN "note" text;' in str(artifacts["schemasync-drift-shop-us"].data)

    events = _events(prefect_api.api_url, run.id, expected=2)
    by_target = {e["resource"]["prefect.resource.name"]: e for e in events}
    assert set(by_target) == {"shop-us", "vault"}
    shop = by_target["shop-us"]
    assert shop["resource"]["prefect.resource.id"] == "schemasync.target.shop-us"
    assert shop["resource"]["schemasync.database"] == f"postgres@127.0.0.1:5432/{fleet_dbs['drifted'].name}"
    assert shop["payload"]["changes"] == 2 and shop["payload"]["database_version"] == "1.9.0"
    assert {r["prefect.resource.role"] for r in shop["related"]} >= {"flow-run", "deployment"}

    # the password of the Secret block's URL is nowhere Prefect keeps things
    stored = json.dumps([a.data for a in artifacts.values()]) + json.dumps(events) + run.state.message
    stored += "\n".join(entry.message for entry in logs)
    assert password_pg.password not in stored
    assert "Checking 4 target(s), 4 at a time" in stored

    # a run the schedule started by itself: the prefect.yaml target (the example app, empty database)
    deadline = time.monotonic() + 120
    scheduled = []
    while time.monotonic() < deadline and not scheduled:
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[drift.id])))
        scheduled = [r for r in runs if r.auto_scheduled and r.state is not None and r.state.is_final()]
        time.sleep(1)
    assert scheduled, f"no scheduled run finished; serve.py said:\n{served.read_text()[-3000:]}"
    assert scheduled[0].state.message == "1 target: 0 in sync, 1 drifted (example-app)."  # type: ignore[union-attr]
