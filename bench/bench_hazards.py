"""Counting the rows behind hazards on a table of millions of rows: how long, and exact or estimated.

One table of `--rows` rows (5 million by default, ~600 MB with its indexes, one INSERT ... SELECT
generate_series), and models that ask for four data-dependent changes to it: SET NOT NULL on a column
holding some NULLs, a new unique constraint on a column with a few repeated values, a narrowing cast
(bigint -> integer, 5 values out of range) and a check constraint a few rows violate. A second
table of the same rows carries an index on each of those columns, to show where an index answers.

Timed: the counting step alone (`plan.facts.measure`, what `prepare` adds to planning), and for
reference the exact count of each probe (what the planner's estimate spares). Each fact says whether it
was counted or estimated; both are printed with the true figure.

Run by hand: `.venv/bin/python -m bench.bench_hazards [--rows 5000000] [--runs 3]`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy import BigInteger, CheckConstraint, Column, Integer, MetaData, Table, Text, UniqueConstraint

from bench.bench_inspect import counting_cursor
from bench.common import scratch_database
from schemasync import engine
from schemasync.config import load_settings
from schemasync.plan.facts import measure, probe_sql
from schemasync.schema.target import desired

TABLES = ("accounts", "indexed_accounts")


def table_ddl(name: str, rows: int) -> str:
    """`rows` rows: 1 in 1,000 nicknames NULL, email u1 repeated 10 times, 5 amounts past 2^31, 100 negative scores."""
    return f"""
        CREATE TABLE {name} (id bigint PRIMARY KEY, email text NOT NULL, nickname text, amount bigint, score integer);
        INSERT INTO {name}
        SELECT g,
               CASE WHEN g <= 10 THEN 'u1' ELSE 'u' || g END,
               CASE WHEN g % 1000 = 0 THEN NULL ELSE 'n' || g END,
               CASE WHEN g % 1000000 = 1 THEN 3000000000 + g ELSE g END,
               CASE WHEN g % 50000 = 7 THEN -1 ELSE g % 1000 END
        FROM generate_series(1, {rows}) g;
    """


INDEXES = """
    CREATE INDEX ix_nickname ON indexed_accounts (nickname);
    CREATE INDEX ix_email ON indexed_accounts (email);
    CREATE INDEX ix_amount ON indexed_accounts (amount);
    CREATE INDEX ix_score ON indexed_accounts (score);
"""


def models() -> MetaData:
    md = MetaData()
    for name in TABLES:
        indexed = name.startswith("indexed")
        Table(
            name,
            md,
            Column("id", BigInteger, primary_key=True, autoincrement=False),
            Column("email", Text, nullable=False, index=indexed),
            Column("nickname", Text, nullable=False, index=indexed),  # SET NOT NULL
            Column("amount", Integer, index=indexed),  # bigint -> integer
            Column("score", Integer, index=indexed),
            UniqueConstraint("email", name=f"uq_{name}_email"),
            CheckConstraint("score >= 0", name=f"ck_{name}_score"),
        )
    for table in md.tables.values():  # the existing indexes keep their names
        for index in table.indexes:
            index.name = "ix_" + next(iter(index.columns)).name
    return md


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    md = models()
    with scratch_database("bench_load") as url, tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as conn:
            for name in TABLES:
                conn.execute(table_ddl(name, args.rows))  # type: ignore[arg-type]
            conn.execute(INDEXES)
            conn.execute("VACUUM ANALYZE")
            sizes = conn.execute(
                "SELECT relname, pg_size_pretty(pg_total_relation_size(oid)), reltuples::bigint FROM pg_class"
                " WHERE relname = ANY(%s) ORDER BY relname",
                (list(TABLES),),
            ).fetchall()
        print(f"built in {time.perf_counter() - started:.0f}s: {sizes}", flush=True)
        settings = load_settings({"database_url": url, "project_dir": tmp}, environ={}).settings
        factory = counting_cursor()
        with psycopg.connect(url, autocommit=True, cursor_factory=factory) as conn:
            wanted = engine.Models(desired(conn, md, cache_dir=Path(tmp) / "cache"))
            prepared = engine.prepare(conn, settings, models=wanted, measure=False)
            plan, current = prepared.plan, prepared.current
            probed = [(i, j) for i, s in enumerate(plan.statements) for j, h in enumerate(s.hazards) if h.probe]
            times = []
            for _ in range(args.runs):
                factory.count = 0
                t0 = time.perf_counter()
                measured = measure(conn, plan, current, statement_timeout=settings.statement_timeout)
                times.append(time.perf_counter() - t0)
            sent = factory.count
            print(
                f"{len(probed)} probes; measure: median {statistics.median(times):.3f}s, min {min(times):.3f}s,"
                f" {sent} statements",
                flush=True,
            )
            for i, j in probed:
                probe = plan.statements[i].hazards[j].probe
                assert probe is not None
                t0 = time.perf_counter()
                row = conn.execute(probe_sql(probe)).fetchone()  # type: ignore[arg-type]
                took = time.perf_counter() - t0
                hazard = measured.statements[i].hazards[j]
                kind = (
                    "estimated" if hazard.estimated else "counted" if hazard.violations is not None else "not counted"
                )
                print(
                    f"- [{kind}] {hazard.fact}\n    exact count on {probe.table}: {row[0] if row else None:,} in {took:.2f}s"
                )


if __name__ == "__main__":
    main()
