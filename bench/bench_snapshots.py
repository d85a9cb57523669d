"""What a schema snapshot costs on a 1,000-table database: taking, storing, loading, comparing.

`versions.record` takes a snapshot inside the caller's transaction (in `apply`, while the plan's
locks are held), so its cost is added to every recorded version. Builds `--tables` tables
(`bench.common.wide_schema_ddl`) in a database it creates and drops, and times over `--runs` runs:
`snapshots.take` (inspect + JSON + gzip + INSERT), loading one back, `compare` of two snapshots
that differ by one column, and the stored size.

Run by hand: `.venv/bin/python -m bench.bench_snapshots [--tables 1000] [--runs 5]`; copy the
figures into bench/RESULTS.md with the machine they were measured on.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import TypeVar

import psycopg

from bench.common import scratch_database, wide_schema_ddl
from schemasync.history import comparison, snapshots

T = TypeVar("T")


def timed(fn: Callable[[], T], runs: int) -> tuple[list[float], T]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return times, result  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with scratch_database() as url, psycopg.connect(url, autocommit=True) as conn:
        conn.execute(wide_schema_ddl(args.tables))  # type: ignore[arg-type]

        def take() -> int:
            with conn.transaction():
                return snapshots.take(conn, schema_version="1.0.0")

        take_times, first = timed(take, args.runs)
        load_times, schema = timed(lambda: snapshots.load(conn, first), args.runs)
        conn.execute("ALTER TABLE t00000 ADD COLUMN extra text")
        with conn.transaction():
            second = snapshots.take(conn, schema_version="1.1.0")
        after = snapshots.load(conn, second)
        older = comparison.Side("a", "snapshot", "a", schema)
        newer = comparison.Side("b", "snapshot", "b", after)
        compare_times, result = timed(lambda: comparison.compare(older, newer), args.runs)
        size, stored = conn.execute(
            "SELECT size_bytes, length(snapshot) FROM schema_snapshots WHERE id = %s", (first,)
        ).fetchone()  # type: ignore[misc]
    assert result.counts == {"column+": 1}, result.counts
    print(f"{args.tables} tables, {args.runs} runs (median, min)")
    for name, times in (
        ("take (inspect+json+gzip+insert)", take_times),
        ("load", load_times),
        ("compare", compare_times),
    ):
        print(f"  {name:<34} {statistics.median(times) * 1000:8.0f} ms {min(times) * 1000:8.0f} ms")
    print(f"  stored: {stored / 1024:,.0f} kB compressed ({size / 1024:,.0f} kB JSON)")


if __name__ == "__main__":
    main()
