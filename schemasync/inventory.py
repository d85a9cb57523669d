"""What is in a database, counted with a fixed number of queries: the figures `status` shows.

Row totals are exact where counting is cheap and the planner's estimate where it is not: the smallest
tables are counted exactly in one UNION ALL statement, up to `EXACT_COUNT_MAX_TABLES` tables and a byte
budget; the others (and tables this role may not read) use `reltuples`, or the statistics collector's
live-tuple count when never analysed. The result says how many tables were counted each way, so nobody
mistakes an estimate for a count.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import psycopg
from psycopg import sql

from schemasync.history.versions import SCHEMA as VERSIONS_SCHEMA

OWN_TABLES = {(VERSIONS_SCHEMA, "schema_versions"), (VERSIONS_SCHEMA, "schema_snapshots")}
EXACT_COUNT_BUDGET_BYTES = 64 * 1024 * 1024  # total heap bytes we are willing to scan for exact counts
EXACT_COUNT_MAX_TABLE_BYTES = 16 * 1024 * 1024  # a single table bigger than this is always estimated
# Tables counted exactly, in one statement. Counting every table of a 10,000-table schema that way
# exceeds the server's stack depth (the UNION ALL recurses once per arm: the default 2 MB holds about
# 5,000) and would hold a lock on every table and its indexes until it ends, past the lock table's
# 7,808 slots with the defaults. 500 tables hold about 1,500 locks for a few milliseconds; beyond
# them the estimates of small, recently written tables are close anyway, and the output says which.
EXACT_COUNT_MAX_TABLES = 500

USER_SCHEMAS = """n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
                  AND n.nspname NOT LIKE 'pg\\_temp\\_%'"""


@dataclass(frozen=True, slots=True)
class Inventory:
    tables: int
    rows: int
    rows_exact_tables: int
    rows_estimated_tables: int
    foreign_keys: int
    indexes: int
    schemas: tuple[str, ...]
    server_version: str
    database_name: str
    size_bytes: int

    @property
    def rows_are_exact(self) -> bool:
        return self.rows_estimated_tables == 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def take(conn: psycopg.Connection, schemas: list[str] | None = None) -> Inventory:
    """Count tables, rows, foreign keys and indexes in user schemas (or only `schemas`); 3 queries."""
    schema_filter: sql.Composable = sql.SQL(USER_SCHEMAS)
    if schemas:
        schema_filter = sql.SQL("n.nspname = ANY({})").format(sql.Literal(list(schemas)))
    tables = conn.execute(
        sql.SQL(
            """SELECT n.nspname, c.relname, c.relkind, c.relispartition, c.reltuples::bigint,
                      pg_relation_size(c.oid), COALESCE(s.n_live_tup, -1), has_table_privilege(c.oid, 'SELECT')
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
               WHERE c.relkind IN ('r', 'p') AND {}
               ORDER BY pg_relation_size(c.oid), n.nspname, c.relname"""
        ).format(schema_filter)
    ).fetchall()
    totals = conn.execute(
        sql.SQL(
            """SELECT
                 (SELECT count(*) FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid
                    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE co.contype = 'f' AND {f}),
                 (SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
                    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND {f}
                      AND NOT (n.nspname = {vs} AND c.relname IN ('schema_versions', 'schema_snapshots'))),
                 current_setting('server_version'), current_database(), pg_database_size(current_database())"""
        ).format(f=schema_filter, vs=sql.Literal(VERSIONS_SCHEMA))
    ).fetchone()
    assert totals is not None

    user_tables = [t for t in tables if (t[0], t[1]) not in OWN_TABLES]
    leaves = [t for t in user_tables if t[2] == "r"]
    exact: list[tuple[Any, ...]] = []
    estimated: list[tuple[Any, ...]] = []
    spent = 0
    for row in leaves:
        size, readable = row[5], row[7]
        cheap = size <= EXACT_COUNT_MAX_TABLE_BYTES and spent + size <= EXACT_COUNT_BUDGET_BYTES
        if readable and cheap and len(exact) < EXACT_COUNT_MAX_TABLES:
            exact.append(row)
            spent += size
        else:
            estimated.append(row)
    rows = sum(_estimate(r) for r in estimated)
    if exact:
        counts = sql.SQL(" UNION ALL ").join(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(r[0], r[1])) for r in exact
        )
        total = conn.execute(
            sql.SQL("SELECT COALESCE(sum(n), 0)::bigint FROM ({}) AS counts(n)").format(counts)
        ).fetchone()
        rows += int(total[0]) if total else 0
    return Inventory(
        tables=sum(1 for t in user_tables if not t[3]),
        rows=rows,
        rows_exact_tables=len(exact),
        rows_estimated_tables=len(estimated),
        foreign_keys=int(totals[0]),
        indexes=int(totals[1]),
        schemas=tuple(sorted({t[0] for t in user_tables})),
        server_version=str(totals[2]),
        database_name=str(totals[3]),
        size_bytes=int(totals[4]),
    )


def _estimate(row: tuple[Any, ...]) -> int:
    reltuples, live = row[4], row[6]
    if reltuples is not None and reltuples >= 0:
        return int(reltuples)
    return max(int(live), 0)
