"""The engine's diff against Alembic's `compare_metadata`, on the same 1,000-table database and models.

Builds `--tables` tables (about 10 columns, a primary key, an index and a foreign key each;
`bench.common.wide_schema_ddl`) in a database it creates and drops, then drifts it away from the
models (`DRIFT`: a dropped table, added and dropped columns, a widened type, a dropped index, a
nullability change). Over `--runs` rounds, in the same process, one run of each contender per round
(interleaved, so the machine's drifting load falls on all of them alike), it times and counts the
statements of:

- engine, values only: `inspect` + `analyse` with the desired schema already in hand;
- engine, warm: the same plus `desired` from its cache (which compiles the models' DDL for the key);
- engine, cold: `desired` materialised from scratch (a fresh cache directory each run);
- engine, full `prepare`: warm, plus planning and counting the rows behind the hazards;
- engine, recalled, the path `check` and `diff` really take: the models named by `module:attribute` in
  a project directory, imported once (tracked, `schema/recall.py`), then on every run the desired schema
  recalled from the cache without importing the models or compiling their DDL, + `inspect` + `analyse`
  + plan (`check`: `prepare(measure=False)`; `diff`: also counting the rows behind the hazards);
- Alembic `compare_metadata` (its defaults) on the same connection URL and models.

All in one process, so none of it includes starting Python or importing the CLI (`bench_looks.py` times
whole commands).

Run by hand: `.venv/bin/python -m bench.bench_diff [--tables 1000] [--runs 5]`, then put the figures in
bench/RESULTS.md with the machine they were measured on.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from bench.bench_inspect import counting_cursor, wide_models
from bench.common import scratch_database, wide_schema_ddl
from schemasync import engine
from schemasync.config import load_settings
from schemasync.diff import CompareOptions, analyse
from schemasync.schema import devdb, recall
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

MODELS_MODULE = "benchdiff_models"


def write_models_module(project: Path, tables: int) -> str:
    """A models module in a project directory, as `check` / `diff` find it (`module:attribute`)."""
    (project / f"{MODELS_MODULE}.py").write_text(
        f"from bench.bench_inspect import wide_models\n\nmetadata = wide_models({tables})\n", encoding="utf-8"
    )
    return f"{MODELS_MODULE}:metadata"


def fmt(times: list[float]) -> str:
    return f"median {statistics.median(times) * 1000:7.1f} ms, min {min(times) * 1000:7.1f} ms"


def alembic_contender(url: str, models: Any) -> tuple[Callable[[], Any], Callable[[], int], Callable[[], None]]:
    """Alembic's compare_metadata on one open connection, with a count of the statements it sends."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine, event

    sa = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    count = {"n": 0}

    @event.listens_for(sa, "before_cursor_execute")
    def _count(*_: Any) -> None:
        count["n"] += 1

    conn = sa.connect()
    compare_metadata(MigrationContext.configure(conn), models)  # warm: dialect caches, connection

    def close() -> None:
        conn.close()
        sa.dispose()

    return (lambda: compare_metadata(MigrationContext.configure(conn), models)), (lambda: count["n"]), close


@dataclass
class Contender:
    label: str
    run: Callable[[int], Any]
    statements: Callable[[], int]
    times: list[float] = field(default_factory=list)
    sent: int = 0
    result: Any = None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    models = wide_models(args.tables)
    with scratch_database() as url, tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as conn:
            # one statement per transaction: built in one, 1,000 tables need more of the server's shared lock
            # table than is free while other sessions' tests run ('out of shared memory')
            for statement in [*wide_schema_ddl(args.tables).split(";\n"), *DRIFT]:
                conn.execute(statement)
            conn.execute("ANALYZE")
        print(f"built {args.tables} tables and {len(DRIFT)} drifts in {time.perf_counter() - started:.1f}s")

        settings = load_settings({"database_url": url, "project_dir": tmp}, environ={}).settings
        options = CompareOptions()
        factory = counting_cursor()
        warm = Path(tmp) / "warm"
        with psycopg.connect(url, autocommit=True, cursor_factory=factory) as conn:
            wanted = desired(conn, models, cache_dir=warm)  # fills the warm cache
            inspect(conn)

            project = Path(tmp) / "project"
            project.mkdir()
            spec = write_models_module(project, args.tables)
            looks = load_settings({"database_url": url, "project_dir": project, "models": spec}, environ={}).settings
            engine.load_models(conn, looks, reuse=True)  # imports (tracked), materialises, remembers
            context = devdb.choose(conn, looks).key_material()  # where `check` would materialise them
            if recall.recall(project / engine.CACHE_DIR, conn, spec, project, context=context) is None:
                raise SystemExit("the models were not recallable: the recalled figures would not be that path")

            def look(measure: bool) -> engine.Prepared:
                recalled = engine.load_models(conn, looks, reuse=True)
                return engine.prepare(conn, looks, models=recalled, measure=measure)

            def engine_statements() -> int:
                return factory.count

            alembic_run, alembic_statements, alembic_close = alembic_contender(url, models)
            contenders = [
                Contender(
                    "engine, values only (inspect + analyse)",
                    lambda _: analyse(inspect(conn), wanted, options),
                    engine_statements,
                ),
                Contender(
                    "engine, recalled: check (recall + inspect + plan)", lambda _: look(False), engine_statements
                ),
                Contender("engine, recalled: diff (+ rows behind hazards)", lambda _: look(True), engine_statements),
                Contender(
                    "engine, warm (+ desired from cache)",
                    lambda _: analyse(inspect(conn), desired(conn, models, cache_dir=warm), options),
                    engine_statements,
                ),
                Contender(
                    "engine, full prepare (warm + plan + facts)",
                    lambda _: engine.prepare(
                        conn, settings, models=engine.Models(desired(conn, models, cache_dir=warm))
                    ),
                    engine_statements,
                ),
                Contender(
                    "engine, cold (+ desired materialised)",
                    lambda run: analyse(
                        inspect(conn), desired(conn, models, cache_dir=Path(tmp) / f"cold{run}"), options
                    ),
                    engine_statements,
                ),
                Contender("alembic compare_metadata", lambda _: alembic_run(), alembic_statements),
            ]
            # Interleaved, one run of each contender in turn: the machine's load drifts over minutes, and
            # running each contender's runs back to back would hand that drift to one of them.
            for run in range(args.runs):
                for contender in contenders:
                    gc.collect()  # the previous contender's garbage is not this one's cost
                    before = contender.statements()
                    t0 = time.perf_counter()
                    contender.result = contender.run(run)
                    contender.times.append(time.perf_counter() - t0)
                    contender.sent += contender.statements() - before
            alembic_close()

    by_label = {c.label: c for c in contenders}
    diff = by_label["engine, values only (inspect + analyse)"].result
    checked = by_label["engine, recalled: check (recall + inspect + plan)"].result
    if len(checked.diff.changes) != len(diff.changes):
        raise SystemExit(f"recalled found {len(checked.diff.changes)} changes, in hand {len(diff.changes)}")
    prepared = by_label["engine, full prepare (warm + plan + facts)"].result
    print(
        f"engine found {len(diff.changes)} changes, {len(diff.unmanaged)} unmanaged: "
        + "; ".join(line for line in prepared.plan.summary)
    )
    alembic = by_label["alembic compare_metadata"]
    print(f"alembic found {len(alembic.result)} differences")
    for c in contenders:
        print(f"{c.label:<52} {fmt(c.times)}, {c.sent // args.runs} statements")
    a = statistics.median(alembic.times)
    for c in contenders[:-1]:
        print(f"ratio alembic / {c.label}: {a / statistics.median(c.times):.1f}x")


if __name__ == "__main__":
    main()
