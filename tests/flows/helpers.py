"""Running test flows next to the test, and watching their runs through the real API."""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
from prefect.client.schemas.objects import FlowRun
from prefect.exceptions import ObjectNotFound

ROOT = Path(__file__).resolve().parents[2]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def in_thread(fn: Callable[..., Any], /, **kwargs: Any) -> Future[Any]:
    """Call `fn(**kwargs)` in a daemon thread that sees this test's Prefect settings context."""
    future: Future[Any] = Future()
    context = contextvars.copy_context()

    def run() -> None:
        try:
            future.set_result(context.run(fn, **kwargs))
        except BaseException as exc:  # handed to the test through the future
            future.set_exception(exc)

    threading.Thread(target=run, daemon=True, name=f"flow-{getattr(fn, '__name__', 'fn')}").start()
    return future


def flow_process(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`python -m tests.flows.sample_flows ARGS` with this process's environment (the `prefect_api` fixture's)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.flows.sample_flows", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 90) -> dict[str, Any]:
    """Wait for a flow process and return the JSON line it prints last."""
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        raise AssertionError(f"flow process did not finish in {timeout}s; stderr:\n{stderr[-4000:]}") from None
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    assert lines, f"flow process printed no result (exit {proc.returncode}); stderr:\n{stderr[-4000:]}"
    return dict(json.loads(lines[-1]), stderr=stderr)


def run_named(name: str) -> FlowRun | None:
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name])), limit=2)
    return runs[0] if runs else None


def read_run(run_id: uuid.UUID | str) -> FlowRun:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(uuid.UUID(str(run_id)))


def wait_for(
    name: str, predicate: Callable[[FlowRun], bool], *, timeout: float = 60, what: str = "the expected state"
) -> FlowRun:
    """Poll the API until the run called `name` satisfies `predicate`."""
    deadline = time.monotonic() + timeout
    run = None
    while time.monotonic() < deadline:
        run = run_named(name)
        if run is not None and predicate(run):
            return run
        time.sleep(0.25)
    state = run.state.name if run is not None and run.state else "no run"
    raise AssertionError(f"flow run {name} did not reach {what} within {timeout}s (last: {state})")


def paused(run: FlowRun) -> bool:
    return run.state is not None and run.state.is_paused()


def run_of_deployment(
    flow: Any,
    *,
    declared: dict[str, Any],
    asked: dict[str, Any] | None = None,
    job_variables: dict[str, Any] | None = None,
) -> tuple[FlowRun, Future[Any]]:
    """A deployment of `flow` whose parameters are `declared` (the operator's prefect.yaml), and a run of it
    created through the API with the run creator's `asked` parameters, executed in a thread of this
    process as a worker would execute it. Returns the stored run and the future of its final state."""
    from prefect.flow_engine import run_flow

    with get_client(sync_client=True) as client:
        flow_id = client.create_flow(flow)
        deployment = client.create_deployment(
            flow_id, unique("deployment"), parameters=declared, entrypoint="flows/any.py:any"
        )
        created = client.create_flow_run_from_deployment(
            deployment, parameters=asked or {}, job_variables=job_variables
        )
        stored = client.read_flow_run(created.id)
    return stored, in_thread(run_flow, flow=flow, flow_run=stored, return_type="state")


def settled(run_id: uuid.UUID | str, timeout: float = 120) -> FlowRun:
    """Wait until the run has ended or paused (for approval), and return it."""
    deadline = time.monotonic() + timeout
    while True:
        run = read_run(run_id)
        if run.state is not None and (run.state.is_final() or run.state.is_paused()):
            return run
        assert time.monotonic() < deadline, f"flow run {run_id} neither ended nor paused within {timeout}s"
        time.sleep(0.25)


@contextlib.contextmanager
def serving(
    tmp_path: Path, deployment: str, qualified: str, options: dict[str, Any], env: dict[str, str] | None = None
) -> Iterator[Path]:
    """`python deployments/serve.py --only <deployment>`, a worker-like runner, until the deployment is readable.

    Served from a copy of prefect.yaml whose deployment's options are updated with `options` (what the
    operator declared: a run keeps its deployment's), in the test's environment plus `env`, without
    SCHEMASYNC_ALLOW_PRE_APPROVAL; yields the runner's log. The deployment (`qualified`, flow/name) is
    deleted and the runner killed afterwards.
    """
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    [spec] = [d for d in config["deployments"] if d["name"] == deployment]
    spec["parameters"]["options"].update(options)
    (tmp_path / "prefect.yaml").write_text(yaml.safe_dump(config))
    log = tmp_path / "serve.log"
    environment = {**os.environ, "PREFECT_RUNNER_POLL_FREQUENCY": "1", **(env or {})}
    environment.pop("SCHEMASYNC_ALLOW_PRE_APPROVAL", None)
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "deployments/serve.py", "--file", str(tmp_path / "prefect.yaml"), "--only", deployment],
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with get_client(sync_client=True) as client:
                    client.read_deployment_by_name(qualified)
                break
            except ObjectNotFound:
                assert time.monotonic() < deadline and proc.poll() is None, log.read_text()[-3000:]
                time.sleep(0.5)
        yield log
    finally:
        with get_client(sync_client=True) as client, contextlib.suppress(ObjectNotFound):
            client.delete_deployment(client.read_deployment_by_name(qualified).id)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
