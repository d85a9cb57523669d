"""A fleet drift check: 50 databases of 100 tables each, in one `drift_check` flow run vs one after another.

Builds `--databases` databases (created and dropped here) of `--tables` tables each
(`bench.common.wide_schema_ddl`); `--drifted` of them lose an index, so the flow publishes plan
artifacts and drift events as it would in production. The models are `bench.bench_inspect.wide_models`,
named through a throwaway project directory.

Times, in this process:
- sequential: `schemasync.drift.check_targets` (what `schemasync drift --targets` runs): every target one
  after another, no Prefect;
- flow: one `drift_check` run on a real Prefect server (PREFECT_API_URL if set, else a `prefect server
  start` of its own): the same checks fanned out on the flow's thread pool (SCHEMASYNC_DRIFT_WORKERS,
  default 8), plus the table artifact, Markdown artifacts and events.
Each is run cold (the models' schema materialised in every database: no cache) and warm (the desired
cache from the previous run), and counts the statements each target's connection sent.

Run by hand: `.venv/bin/python -m bench.bench_drift [--databases 50] [--tables 100] [--drifted 5]`; copy the
figures into bench/RESULTS.md with the machine they were measured on.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psycopg

from bench.common import ADMIN_URL, wide_schema_ddl

MODELS = "from bench.bench_inspect import wide_models\n\nmetadata = wide_models({tables})\n"


@contextmanager
def fleet(databases: int, tables: int, drifted: int) -> Iterator[list[str]]:
    """`databases` scratch databases with the wide schema; the first `drifted` lose one index. Dropped after."""
    names = [f"ssbench_drift_{uuid.uuid4().hex[:8]}" for _ in range(databases)]
    base = ADMIN_URL.rsplit("/", 1)[0]
    ddl = wide_schema_ddl(tables)
    try:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            for name in names:
                admin.execute(f'CREATE DATABASE "{name}"')
        for i, name in enumerate(names):
            with psycopg.connect(f"{base}/{name}", autocommit=True) as conn:
                conn.execute(ddl)
                if i < drifted:
                    conn.execute("DROP INDEX ix_t00000_name")
        yield [f"{base}/{name}" for name in names]
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class StatementCounter:
    """Counts statements per database name, across threads, by wrapping psycopg's Cursor.execute."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._original = psycopg.Cursor.execute

    def __enter__(self) -> StatementCounter:
        counter, original = self, self._original

        def execute(cursor: psycopg.Cursor[Any], *args: Any, **kwargs: Any) -> Any:
            with counter._lock:
                counter.counts[cursor.connection.info.dbname] += 1
            return original(cursor, *args, **kwargs)

        psycopg.Cursor.execute = execute  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        psycopg.Cursor.execute = self._original  # type: ignore[method-assign]

    def per_target(self) -> tuple[int, int]:
        values = [n for name, n in self.counts.items() if name.startswith("ssbench_drift_")]
        return min(values), max(values)


def timed(label: str, fn: Callable[[], Any]) -> tuple[float, Any, tuple[int, int]]:
    with StatementCounter() as counter:
        started = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - started
    low, high = counter.per_target()
    print(f"{label:<28} {seconds:7.2f} s   statements per target {low}-{high}", flush=True)
    return seconds, result, (low, high)


@contextmanager
def prefect_api() -> Iterator[None]:
    if os.environ.get("PREFECT_API_URL"):
        yield
        return
    from tests.fixtures.prefect_server import PrefectServer

    root = Path(tempfile.mkdtemp(prefix="ssbench-prefect-"))
    server = PrefectServer(root=root)
    server.start()
    os.environ.update(server.client_env())
    try:
        yield
    finally:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=10)
        EventsWorker.drain_all(timeout=10)
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--databases", type=int, default=50)
    parser.add_argument("--tables", type=int, default=100)
    parser.add_argument("--drifted", type=int, default=5)
    args = parser.parse_args()

    with ExitStack() as stack:
        project = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ssbench-drift-")))
        (project / "benchmodels.py").write_text(MODELS.format(tables=args.tables))
        (project / "pyproject.toml").write_text('[project]\nname = "fleet"\nversion = "1.0.0"\n')
        started = time.perf_counter()
        urls = stack.enter_context(fleet(args.databases, args.tables, args.drifted))
        print(f"built {args.databases} databases of {args.tables} tables in {time.perf_counter() - started:.1f}s")
        stack.enter_context(prefect_api())

        from schemasync.drift import check_targets, outcome, parse_targets
        from schemasync.workflows.flows.drift import WORKERS, drift_check

        raw = [
            {"name": f"db{i:03d}", "url": url, "models": "benchmodels:metadata", "project_dir": str(project)}
            for i, url in enumerate(urls)
        ]
        targets = parse_targets(raw, origin="bench")
        cache = project / ".schemasync" / "cache"
        check_targets(targets[:1])  # import the models and SQLAlchemy once, outside the timings

        def cold() -> None:
            shutil.rmtree(cache, ignore_errors=True)

        print(f"load average {os.getloadavg()[0]:.1f}; flow thread pool: {WORKERS} workers")
        figures: dict[str, float] = {}
        for temperature in ("cold", "warm"):
            if temperature == "cold":
                cold()
            seq, results, _ = timed(f"sequential, {temperature}", lambda: check_targets(targets))
            print(f"  {outcome(results).message}")
            for failed in (r for r in results if not r.checked):  # a figure with a failed check is not comparable
                print(f"  {failed.target} not checked: {failed.error}")
            if temperature == "cold":
                cold()
            flow, state, _ = timed(f"flow, {temperature}", lambda: drift_check(targets=raw, return_state=True))
            print(f"  {state.type.value}: {state.message}")
            figures[f"seq_{temperature}"], figures[f"flow_{temperature}"] = seq, flow
            print(f"  ratio sequential / flow: {seq / flow:.2f}x")
        print(f"median per target, sequential warm: {figures['seq_warm'] / len(targets) * 1000:.0f} ms")
        # what a flow run costs besides the checks (run and task states, artifacts, events): one target, warm
        one, _, _ = timed("sequential, warm, 1 target", lambda: check_targets(targets[:1]))
        flow_one, _, _ = timed("flow, warm, 1 target", lambda: drift_check(targets=raw[:1], return_state=True))
        print(f"  a flow run's own cost: about {(flow_one - one) * 1000:.0f} ms")

        # statements per target do not depend on the table count: the same check on a 10-table database
        with fleet(1, 10, 0) as small:
            small_target = parse_targets(
                [{"name": "small", "url": small[0], "models": "benchmodels:metadata", "project_dir": str(project)}],
                origin="bench",
            )
            timed("one 10-table database", lambda: check_targets(small_target))


if __name__ == "__main__":
    main()
