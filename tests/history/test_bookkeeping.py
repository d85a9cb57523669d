"""Our own tables (schemasync's and Alembic's) are left out alike by everything that lists the app's tables."""

from __future__ import annotations

from schemasync import inventory
from schemasync.bookkeeping import OWN_TABLES
from schemasync.diff.scope import CompareOptions, table_selected
from schemasync.history import snapshots, versions
from schemasync.schema.inspect import inspect
from tests.conftest import TestDB


def test_status_snapshots_and_the_diff_leave_out_the_same_tables(pg: TestDB) -> None:
    """Before there was one definition, `status` counted alembic_version (and its index) as the app's table
    and snapshots stored it, while the diff already ignored it."""
    with pg.connect() as conn:
        with conn.transaction():
            versions.ensure_table(conn, announce=False)
        conn.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        conn.execute("CREATE TABLE orders (id bigint PRIMARY KEY, note text)")
        counted = inventory.take(conn)
        stored = snapshots.without_own_tables(inspect(conn))
    assert (counted.tables, counted.indexes) == (1, 1)
    assert [t.key for t in stored.tables] == [("public", "orders")]
    assert {("public", "schema_versions"), ("public", "schema_snapshots"), ("public", "alembic_version")} == OWN_TABLES
    assert not any(table_selected(schema, name, CompareOptions()) for schema, name in OWN_TABLES)
