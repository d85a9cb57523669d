"""The two producers of the schema value on a 1,000-table database: `inspect` and `desired`.

Builds a database of `--tables` tables (about 10 columns, a primary key, an index and a foreign key
each; `bench.common.wide_schema_ddl`) in a database it creates and drops, and SQLAlchemy models of
the same shape. Times, over `--runs` runs: `inspect` (live), `desired` cold (models materialised in
scratch schemas and inspected; a fresh cache directory each run), `desired` warm (cache hit), and
the part of both that is SQLAlchemy compiling the models' DDL. Counts the statements each sends.

Run by hand: `.venv/bin/python -m bench.bench_inspect [--tables 1000] [--runs 5]`; copy the figures
into bench/RESULTS.md with the machine they were measured on.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    text,
)

from bench.common import scratch_database, wide_schema_ddl
from schemasync.schema.ddl import compile_models
from schemasync.schema.inspect import inspect
from schemasync.schema.target import desired

T = TypeVar("T")


def wide_models(tables: int, columns: int = 10) -> MetaData:
    """SQLAlchemy models that create exactly what `wide_schema_ddl` does (same names, same types)."""
    md = MetaData()
    for i in range(tables):
        name = f"t{i:05d}"
        cols: list[Any] = [
            Column("id", BigInteger, primary_key=True, autoincrement=True),
            Column("parent_id", BigInteger),
            Column("name", String(100), nullable=False),
            Column("created_at", DateTime(timezone=True), server_default=text("now()")),
        ]
        cols += [Column(f"c{j}", Integer) for j in range(columns - len(cols))]
        table = Table(
            name,
            md,
            *cols,
            PrimaryKeyConstraint("id", name=f"{name}_pkey"),
            ForeignKeyConstraint(
                ["parent_id"], [f"t{(i + 1) % tables:05d}.id"], name=f"fk_{name}_parent", use_alter=True
            ),
        )
        Index(f"ix_{name}_name", table.c.name)
    return md


def counting_cursor() -> type[psycopg.Cursor[Any]]:
    class CountingCursor(psycopg.Cursor[Any]):
        count = 0

        def execute(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            type(self).count += 1
            return super().execute(*args, **kwargs)

    return CountingCursor


def timed(runs: int, fn: Callable[[int], T]) -> tuple[list[float], T]:
    times, result = [], None
    for run in range(runs):
        t0 = time.perf_counter()
        result = fn(run)
        times.append(time.perf_counter() - t0)
    assert result is not None
    return times, result


def line(label: str, times: list[float], statements: int | None = None) -> str:
    sent = f", {statements} statements" if statements is not None else ""
    return f"{label:<38} median {statistics.median(times) * 1000:7.1f} ms, min {min(times) * 1000:7.1f} ms{sent}"


FRESH = """
import sys, time
from pathlib import Path
import psycopg
from bench.bench_inspect import wide_models
from schemasync.schema.target import desired
models = wide_models(int(sys.argv[2]))
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    t0 = time.perf_counter()
    desired(conn, models, cache_dir=Path(sys.argv[3]))
    print(time.perf_counter() - t0)
"""


def fresh_process_warm(url: str, tables: int, cache_dir: Path) -> float:
    """A warm `desired` as a one-shot command sees it: nothing of SQLAlchemy's caches is warm yet."""
    out = subprocess.run(
        [sys.executable, "-c", FRESH, url, str(tables), str(cache_dir)], check=True, capture_output=True, text=True
    )
    return float(out.stdout.strip().splitlines()[-1])


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
        print(f"built {args.tables} tables in {time.perf_counter() - started:.1f}s")

        factory = counting_cursor()
        with psycopg.connect(url, autocommit=True, cursor_factory=factory) as conn:
            inspect(conn)  # warm the server's caches and psycopg's type adapters

            factory.count = 0
            live_times, live = timed(args.runs, lambda _: inspect(conn))
            live_statements = factory.count // args.runs

            compile_times, _ = timed(args.runs, lambda _: compile_models(models))

            factory.count = 0
            cold_times, wanted = timed(args.runs, lambda run: desired(conn, models, cache_dir=Path(tmp) / f"cold{run}"))
            cold_statements = factory.count // args.runs

            warm_dir = Path(tmp) / "warm"
            desired(conn, models, cache_dir=warm_dir)
            factory.count = 0
            warm_times, warm = timed(args.runs, lambda _: desired(conn, models, cache_dir=warm_dir))
            warm_statements = factory.count // args.runs
        fresh_times = [fresh_process_warm(url, args.tables, warm_dir) for _ in range(args.runs)]

    columns = sum(len(t.columns) for t in live.tables)
    fks = sum(len(t.foreign_keys) for t in live.tables)
    indexes = sum(len(t.indexes) for t in live.tables)
    print(f"live: {len(live.tables)} tables, {columns} columns, {fks} foreign keys, {indexes} standalone indexes")
    print(line("inspect (live)", live_times, live_statements))
    print(line("desired, cold (materialise + inspect)", cold_times, cold_statements))
    print(line("desired, warm (cache hit)", warm_times, warm_statements))
    print(line("  of which compiling the models' DDL", compile_times))
    print(line("desired, warm, in a fresh process", fresh_times))
    print(f"desired == inspect(live): {wanted == live and warm == live}")


if __name__ == "__main__":
    main()
