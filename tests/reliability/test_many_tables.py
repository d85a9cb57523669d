"""A schema of thousands of tables (issue 9, Load): `status` still counts every table's rows.

Counting 10,000 tables in one UNION ALL statement failed with "stack depth limit exceeded" (and would
have held a lock on every table at once); the counts now go in batches. The timings and memory at
10,000 tables are in bench/RESULTS.md (`bench/bench_load.py`).
"""

from __future__ import annotations

import pytest

from schemasync import inventory
from tests.conftest import TestDB

pytestmark = pytest.mark.reliability


def test_rows_are_counted_exactly_across_batches(pg: TestDB, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(7):
        pg.execute(f"CREATE TABLE t{n} (id int); INSERT INTO t{n} SELECT generate_series(1, {n})")
    monkeypatch.setattr(inventory, "COUNT_BATCH", 3)
    with pg.connect() as conn:
        found = inventory.take(conn)
    assert (found.tables, found.rows, found.rows_exact_tables, found.rows_estimated_tables) == (7, 21, 7, 0)


@pytest.mark.slow
def test_ten_thousand_tables_are_counted_without_exhausting_the_server(pg: TestDB) -> None:
    tables = 10_000
    for start in range(0, tables, 500):
        pg.execute(";".join(f"CREATE TABLE t{n} (id int)" for n in range(start, start + 500)))
    pg.execute("INSERT INTO t0 VALUES (1), (2); INSERT INTO t9999 VALUES (3)")
    with pg.connect() as conn:
        found = inventory.take(conn)
    assert (found.tables, found.rows, found.rows_exact_tables) == (tables, 3, tables)
