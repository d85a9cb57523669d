"""A plan bigger than the server's lock table (issue 9, item 9), on a private server with a tiny one.

`small_lock_pg` holds about 240 locks for all sessions together (max_locks_per_transaction 20 x 12
processes). Models of 44 tables, each with a serial key and a text column, need about five locks a
table and the transaction's own few dozen: about 260, just past what the server holds. Reading the models works (they are materialised in
groups that fit), the plan is refused before anything runs, with both ways out; the suggested split
works; and when other sessions fill the lock table after planning, the failure at run time says the same
and leaves nothing behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.reliability.helpers import holding

pytestmark = pytest.mark.reliability

TABLES = 44
MODELS = f"""
from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table, Text

metadata = MetaData()
for n in range({TABLES}):
    # every odd table references the one before it: pairs that must be materialised together
    extra = [Column("prev_id", Integer, ForeignKey(f"item_{{n - 1:02d}}.id"))] if n % 2 else []
    Table(f"item_{{n:02d}}", metadata, Column("id", Integer, primary_key=True), Column("name", Text), *extra)
"""


class SmallDB:
    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.name = f"sstest_{uuid.uuid4().hex[:12]}"
        self.url = admin_url.rsplit("/", 1)[0] + f"/{self.name}"

    def scalar(self, query: str) -> object:
        with psycopg.connect(self.url, autocommit=True) as conn:
            row = conn.execute(query).fetchone()  # type: ignore[arg-type]
            return row[0] if row else None

    def tables(self) -> int:
        return int(self.scalar("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'item\\_%'"))  # type: ignore[arg-type]

    def audit(self) -> list[tuple[object, ...]]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            if conn.execute("SELECT to_regclass('public.schema_versions')").fetchone() == (None,):
                return []
            return conn.execute("SELECT schema_version, status, changes FROM schema_versions ORDER BY id").fetchall()


@pytest.fixture
def small_db(small_lock_pg: str) -> Iterator[SmallDB]:
    db = SmallDB(small_lock_pg)
    with psycopg.connect(small_lock_pg, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db.name}"')  # type: ignore[arg-type]
    try:
        yield db
    finally:
        with psycopg.connect(small_lock_pg, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')  # type: ignore[arg-type]


def test_a_plan_too_big_for_the_lock_table_is_refused_with_the_fix_and_the_split_works(cli, small_db: SmallDB) -> None:  # type: ignore[no-untyped-def]
    project: Path = cli.project
    (project / "pyproject.toml").write_text('[project]\nname = "big"\nversion = "1.0.0"\n')
    (project / "bigmodels.py").write_text(MODELS)
    env = {"DATABASE_URL": small_db.url, "SCHEMASYNC_MODELS": "bigmodels:metadata"}

    refused = cli("sync", "--yes", env=env)
    assert refused.code == 3, refused.output
    assert f"Found {TABLES} new tables" in refused.stdout, "the models were read, in groups that fit"
    message = " ".join(refused.stderr.split())
    assert f"The plan changes {TABLES} tables in one transaction and needs about" in message
    assert "max_locks_per_transaction 20 x 12 server processes" in message and "nothing was changed" in message
    assert "Raise max_locks_per_transaction to at least" in message and "SCHEMASYNC_INCLUDE_TABLES" in message
    assert "Traceback" not in refused.output
    assert small_db.tables() == 0 and small_db.audit() == []

    # Other sessions fill the lock table after the plan was made (the models' schema is cached by now):
    # the estimate fits, the server runs out part-way, and the transaction takes everything back.
    part = {**env, "SCHEMASYNC_INCLUDE_TABLES": "item_0*,item_1*"}
    with holding(_pg_like(small_db.admin_url), _lock_hog(30)):
        crowded = cli("sync", "--yes", env=part)
    assert crowded.code == 1, crowded.output
    message = " ".join(crowded.stderr.split())
    assert "ran out of lock table space" in message and "out of shared memory" in message
    assert "The transaction was rolled back: nothing was changed" in message
    assert "Raise max_locks_per_transaction" in message and "SCHEMASYNC_INCLUDE_TABLES" in message
    assert small_db.tables() == 0 and small_db.audit() == []

    # The split the message suggests: a part, then the rest.
    first = cli("sync", "--yes", env=part)
    assert first.code == 0, first.output
    assert small_db.tables() == 20 and small_db.audit() == [("1.0.0", "applied", 30)]  # 20 tables, 10 keys
    rest = cli("sync", "--yes", env=env)
    assert rest.code == 0, rest.output
    assert small_db.tables() == TABLES and small_db.audit()[-1] == ("1.0.0", "applied", 24 + 12)
    assert cli("check", env=env).code == 0


def _lock_hog(tables: int) -> str:
    """One statement that creates `tables` tables (five locks each) in the holder's open transaction."""
    return "; ".join(f"CREATE TABLE hog_{n} (id serial PRIMARY KEY, body text)" for n in range(tables))


class _pg_like:  # quacks like the pg fixture's TestDB for `holding`
    def __init__(self, url: str) -> None:
        self.url = url

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True)


def test_models_are_split_into_groups_that_keep_foreign_keys_and_shared_types_together() -> None:
    from sqlalchemy import Column, Enum, ForeignKey, Integer, MetaData, Table

    from schemasync.schema import chunks
    from schemasync.schema.target import compile_models

    md = MetaData()
    mood = Enum("happy", "sad", name="mood")
    for n in range(8):
        extra = [Column("prev_id", Integer, ForeignKey(f"t{n - 1}.id"))] if n % 2 else []
        Table(f"t{n}", md, Column("id", Integer, primary_key=True), Column("mood", mood), *extra)
    ddl = compile_models(md)
    assert len(chunks.split(ddl, 1000)) == 1
    groups = chunks.split(ddl, 20)  # five locks a table (table, key, sequence, TOAST): two pairs per group
    assert len(groups) == 2
    for group in groups:
        texts = [s.text for s in group.statements]
        assert texts[0].startswith("CREATE TYPE"), "the shared enum comes first in every group"
        tables = [s.table[1] for s in group.statements if s.table]
        assert len(tables) == 4 and all(f"t{n - 1}" in tables for n in range(1, 8, 2) if f"t{n}" in tables)
        assert [t for t in texts if "CREATE TABLE" in t] == sorted(
            (t for t in texts if "CREATE TABLE" in t), key=[s.text for s in ddl.statements].index
        ), "statements keep create_all's order"
