"""The engine's diff against Alembic's `compare_metadata`, on the same 1,000-table database and models.

Builds `--tables` tables (about 10 columns, a primary key, an index and a foreign key each;
`bench.common.wide_schema_ddl`) in a database it creates and drops, then drifts it away from the
models (`DRIFT`: a dropped table, added and dropped columns, a widened type, a dropped index, a
nullability change). Over `--runs` runs, in the same process, it times and counts the statements of:

- engine, values only: `inspect` + `analyse` with the desired schema already in hand;
- engine, warm: the same plus `desired` from its cache (which compiles the models' DDL for the key);
- engine, cold: `desired` materialised from scratch (a fresh cache directory each run);
- engine, full `prepare`: warm, plus planning and counting the rows behind the hazards;
- Alembic `compare_metadata` (its defaults) on the same connection URL and models.

Run by hand: `.venv/bin/python -m bench.bench_diff [--tables 1000] [--runs 5]`, then put the figures in
bench/RESULTS.md with the machine they were measured on.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from bench.bench_inspect import counting_cursor, wide_models
from bench.common import scratch_database, wide_schema_ddl
from schemasync import engine
from schemasync.config import load_settings
from schemasync.diff import CompareOptions, analyse
from schemasync.schema.inspect import inspect
from schemasync.schema.target import desired

DRIFT = [
    "DROP TABLE t00500 CASCADE",  # the models still have it (and t00499's FK to it goes with CASCADE)
    "ALTER TABLE t00010 ADD COLUMN legacy_note text",  # unmanaged column
    "ALTER TABLE t00011 DROP COLUMN c5",  # the models have it
    "ALTER TABLE t00012 ALTER COLUMN name TYPE varchar(200)",
    "DROP INDEX ix_t00013_name",
    "ALTER TABLE t00014 ALTER COLUMN c4 SET NOT NULL",
    "ALTER TABLE t00015 ALTER COLUMN created_at DROP DEFAULT",  # Alembic misses this by default
]


def timed(runs: int, fn: Any) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


def fmt(times: list[float]) -> str:
    return f"median {statistics.median(times) * 1000:7.1f} ms, min {min(times) * 1000:7.1f} ms"


def alembic_compare(url: str, models: Any, runs: int) -> tuple[list[float], int, list[Any]]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine, event

    sa = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    count = {"n": 0}

    @event.listens_for(sa, "before_cursor_execute")
    def _count(*_: Any) -> None:
        count["n"] += 1

    with sa.connect() as conn:
        compare_metadata(MigrationContext.configure(conn), models)  # warm: dialect caches, connection
        count["n"] = 0
        times, diffs = timed(runs, lambda: compare_metadata(MigrationContext.configure(conn), models))
    sa.dispose()
    return times, count["n"] // runs, diffs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    models = wide_models(args.tables)
    with scratch_database() as url, tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(wide_schema_ddl(args.tables))
            conn.execute(";\n".join(DRIFT))
            conn.execute("ANALYZE")
        print(f"built {args.tables} tables and {len(DRIFT)} drifts in {time.perf_counter() - started:.1f}s")

        settings = load_settings({"database_url": url, "project_dir": tmp}, environ={}).settings
        options = CompareOptions()
        factory = counting_cursor()
        with psycopg.connect(url, autocommit=True, cursor_factory=factory) as conn:
            wanted = desired(conn, models, cache_dir=Path(tmp) / "warm")  # fills the warm cache
            inspect(conn)

            factory.count = 0
            values_times, diff = timed(args.runs, lambda: analyse(inspect(conn), wanted, options))
            values_statements = factory.count // args.runs

            factory.count = 0
            warm_times, _ = timed(
                args.runs, lambda: analyse(inspect(conn), desired(conn, models, cache_dir=Path(tmp) / "warm"), options)
            )
            warm_statements = factory.count // args.runs

            factory.count = 0
            cold: list[float] = []
            for run in range(args.runs):
                t0 = time.perf_counter()
                analyse(inspect(conn), desired(conn, models, cache_dir=Path(tmp) / f"cold{run}"), options)
                cold.append(time.perf_counter() - t0)
            cold_statements = factory.count // args.runs

            factory.count = 0
            prepare_times, prepared = timed(
                args.runs,
                lambda: engine.prepare(
                    conn,
                    settings,
                    models=engine.Models(desired(conn, models, cache_dir=Path(tmp) / "warm")),
                ),
            )
            prepare_statements = factory.count // args.runs

        alembic_times, alembic_statements, alembic_diffs = alembic_compare(url, models, args.runs)

    print(
        f"engine found {len(diff.changes)} changes, {len(diff.unmanaged)} unmanaged: "
        + "; ".join(line for line in prepared.plan.summary)
    )
    print(f"alembic found {len(alembic_diffs)} differences")
    print(f"{'engine, values only (inspect + analyse)':<48} {fmt(values_times)}, {values_statements} statements")
    print(f"{'engine, warm (+ desired from cache)':<48} {fmt(warm_times)}, {warm_statements} statements")
    print(f"{'engine, cold (+ desired materialised)':<48} {fmt(cold)}, {cold_statements} statements")
    print(f"{'engine, full prepare (warm + plan + facts)':<48} {fmt(prepare_times)}, {prepare_statements} statements")
    print(f"{'alembic compare_metadata':<48} {fmt(alembic_times)}, {alembic_statements} statements")
    a = statistics.median(alembic_times)
    for label, times in (("values only", values_times), ("warm", warm_times), ("full prepare", prepare_times)):
        print(f"ratio alembic / engine {label}: {a / statistics.median(times):.1f}x")


if __name__ == "__main__":
    main()
