"""Reading a production run back from the real Prefect API: its logs, artifacts and task runs."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
)

from tests.flows.helpers import paused, read_run, wait_for


def wait_paused(name: str, timeout: float = 90) -> Any:
    return wait_for(name, paused, timeout=timeout, what="Paused (waiting for approval)")


def wait_paused_again(run_id: uuid.UUID, previous_state: uuid.UUID, timeout: float = 90) -> Any:
    """Wait by id (a re-run renames the run) until the run is paused in a new state."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = read_run(run_id)
        if paused(run) and run.state.id != previous_state:
            return run
        time.sleep(0.25)
    raise AssertionError(f"flow run {run_id} did not pause again within {timeout}s")


def flush_logs() -> None:
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)


def logs(run_id: uuid.UUID | str) -> list[str]:
    flush_logs()
    with get_client(sync_client=True) as client:
        found = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[uuid.UUID(str(run_id))])), limit=200
        )
    return [log.message for log in found]


def artifacts(run_id: uuid.UUID | str) -> dict[str, Any]:
    """The run's artifacts by key (the newest of each key)."""
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[uuid.UUID(str(run_id))]))
        )
    return {a.key: a for a in sorted(found, key=lambda a: a.created or 0) if a.key}


def task_runs(run_id: uuid.UUID | str) -> dict[str, list[Any]]:
    """The run's task runs by task name (`backup`, `upload-backup`...)."""
    with get_client(sync_client=True) as client:
        found = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[uuid.UUID(str(run_id))])))
    by_name: dict[str, list[Any]] = {}
    for run in found:
        by_name.setdefault(run.name.rsplit("-", 1)[0], []).append(run)
    return by_name


def everything_stored(run_id: uuid.UUID | str) -> str:
    """Every text Prefect keeps about a run: parameters, states, logs, artifacts, inputs (for secret checks)."""
    rid = uuid.UUID(str(run_id))
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(rid)
        states = client.read_flow_run_states(rid)
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[rid])))
    parts = [json.dumps(run.parameters, default=str), *(s.message or "" for s in states)]
    parts += [t.state.message or "" for t in tasks if t.state]
    parts += logs(rid)
    parts += [str(a.data) + str(a.description) for a in artifacts(rid).values()]
    return "\n".join(parts)
