"""A schema of thousands of tables (issue 9, Load): `status` counts rows with the same three statements.

Counting 10,000 tables in one UNION ALL statement failed with "stack depth limit exceeded" (and would
have held a lock on every table at once); now the smallest tables, up to a cap, are counted exactly in
one statement and the rest are the planner's estimate, and the figures say how many of each. The
timings and memory at 10,000 tables are in bench/RESULTS.md (`bench/bench_load.py`).
"""

from __future__ import annotations

import uuid

import psycopg
import pytest

from schemasync import inventory
from tests.conftest import TestDB

pytestmark = pytest.mark.reliability


def counted(conn: psycopg.Connection) -> tuple[inventory.Inventory, list[str]]:
    """The inventory, and the statements it sent."""
    sent: list[str] = []

    class Recording(psycopg.Cursor):  # type: ignore[type-arg]
        def execute(self, query, params=None, **kwargs):  # type: ignore[no-untyped-def,override]
            sent.append(str(query))
            return super().execute(query, params, **kwargs)

    conn.cursor_factory = Recording
    return inventory.take(conn), sent


def test_the_smallest_tables_are_counted_exactly_the_rest_estimated(
    pg: TestDB, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(7):
        pg.execute(f"CREATE TABLE t{n} (id int); INSERT INTO t{n} SELECT generate_series(1, {n})")
    pg.execute("ANALYZE")  # the estimates of such small tables are then exact, so the total can be checked
    monkeypatch.setattr(inventory, "EXACT_COUNT_MAX_TABLES", 3)
    with pg.connect() as conn:
        found, sent = counted(conn)
    assert (found.tables, found.rows, found.rows_exact_tables, found.rows_estimated_tables) == (7, 21, 3, 4)
    assert len(sent) == 3


def test_tables_this_role_may_not_read_are_estimated_not_refused(pg: TestDB) -> None:
    role = f"ss_reader_{uuid.uuid4().hex[:8]}"
    pg.execute("CREATE TABLE open_t (id int); INSERT INTO open_t VALUES (1), (2)")
    pg.execute("CREATE TABLE closed_t (id int); INSERT INTO closed_t VALUES (1), (2), (3)")
    pg.execute("ANALYZE")
    pg.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'Reader-Pa55'")
    try:
        pg.execute(f"GRANT SELECT ON open_t TO {role}")
        with psycopg.connect(pg.url.replace("postgres@", f"{role}:Reader-Pa55@"), autocommit=True) as conn:
            found = inventory.take(conn)
        assert (found.tables, found.rows, found.rows_exact_tables, found.rows_estimated_tables) == (2, 5, 1, 1)
    finally:
        pg.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")


@pytest.mark.slow
def test_ten_thousand_tables_take_the_same_three_statements(pg: TestDB) -> None:
    tables = 10_000
    for start in range(0, tables, 500):
        pg.execute(";".join(f"CREATE TABLE t{n} (id int)" for n in range(start, start + 500)))
    pg.execute("INSERT INTO t0 VALUES (1), (2); INSERT INTO t9999 VALUES (3); ANALYZE t0, t9999")
    with pg.connect() as conn:
        found, sent = counted(conn)
    assert (found.tables, found.rows) == (tables, 3)
    assert (found.rows_exact_tables, found.rows_estimated_tables) == (inventory.EXACT_COUNT_MAX_TABLES, 9_500)
    assert len(sent) == 3
