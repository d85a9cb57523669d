"""Shared helpers for the benchmarks: scratch databases and a 1,000-table schema generator."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

ADMIN_URL = os.environ.get("SCHEMASYNC_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def scratch_database(prefix: str = "ssbench") -> Iterator[str]:
    """Create a database for one benchmark run, yield its URL, drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wide_schema_ddl(tables: int, columns: int = 10, rows: int = 0) -> str:
    """DDL for `tables` tables of about `columns` columns, each with an index and a foreign key."""
    statements = []
    for i in range(tables):
        cols = [
            "id bigserial PRIMARY KEY",
            "parent_id bigint",
            "name varchar(100) NOT NULL",
            "created_at timestamptz DEFAULT now()",
        ]
        cols += [f"c{j} integer" for j in range(columns - len(cols))]
        statements.append(f"CREATE TABLE t{i:05d} ({', '.join(cols)})")
        statements.append(f"CREATE INDEX ix_t{i:05d}_name ON t{i:05d} (name)")
        if rows:
            statements.append(f"INSERT INTO t{i:05d} (name) SELECT 'n' || g FROM generate_series(1, {rows}) g")
    for i in range(tables):
        statements.append(
            f"ALTER TABLE t{i:05d} ADD CONSTRAINT fk_t{i:05d}_parent FOREIGN KEY (parent_id) REFERENCES t{(i + 1) % tables:05d} (id)"
        )
    statements.append("ANALYZE")
    return ";\n".join(statements)


def build(url: str, ddl: str, batch: int = 400) -> None:
    """Run `ddl` in transactions of `batch` statements: one transaction for 10,000 tables overflows the lock table."""
    statements = [s for s in ddl.split(";\n") if s != "ANALYZE"]
    with psycopg.connect(url, autocommit=True) as conn:
        for start in range(0, len(statements), batch):
            conn.execute(";\n".join(statements[start : start + batch]))  # type: ignore[arg-type]
        conn.execute("ANALYZE")  # on its own it commits table by table
