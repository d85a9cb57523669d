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
    # every table but the first references the first (a hub): groups of tables stub it
    extra = [Column("hub_id", Integer, ForeignKey("item_00.id"))] if n else []
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
    # 34 tables (170 of the 240 slots): the look before the plan (some 26 catalog statements, each locking
    # its catalogs until the look ends) still fits, the plan's 20 tables do not
    with holding(_pg_like(small_db.admin_url), _lock_hog(34)):
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
    assert small_db.tables() == 20 and small_db.audit() == [("1.0.0", "applied", 39)]  # 20 tables, 19 keys
    rest = cli("sync", "--yes", env=env)
    assert rest.code == 0, rest.output
    assert small_db.tables() == TABLES and small_db.audit()[-1] == ("1.0.0", "applied", 24 + 24)
    assert cli("check", env=env).code == 0


def _lock_hog(tables: int) -> str:
    """One statement that creates `tables` tables (five locks each) in the holder's open transaction."""
    return "; ".join(f"CREATE TABLE hog_{n} (id serial PRIMARY KEY, body text)" for n in range(tables))


class _pg_like:  # quacks like the pg fixture's TestDB for `holding`
    def __init__(self, url: str) -> None:
        self.url = url

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True)


def test_models_are_split_into_groups_that_fit_with_stubs_of_referenced_tables() -> None:
    from sqlalchemy import Column, Enum, ForeignKey, ForeignKeyConstraint, Integer, MetaData, Table

    from schemasync.schema import chunks
    from schemasync.schema.ddl import compile_models

    md = MetaData()
    mood = Enum("happy", "sad", name="mood")
    Table("hub", md, Column("id", Integer, primary_key=True))
    for n in range(8):  # a star (every table -> hub) and a ring (t0 -> t1 -> ... -> t7 -> t0, added after)
        Table(
            f"t{n}",
            md,
            Column("id", Integer, primary_key=True),
            Column("hub_id", Integer, ForeignKey("hub.id")),
            Column("next_id", Integer),
            Column("mood", mood),
            ForeignKeyConstraint(["next_id"], [f"t{(n + 1) % 8}.id"], use_alter=True, name=f"fk_t{n}_next"),
        )
    ddl = compile_models(md)
    assert len(chunks.split(ddl, 1000)) == 1
    groups = chunks.split(ddl, 20)
    assert len(groups) > 2
    owned: list[str] = []
    for group in groups:
        statements = group.ddl.statements
        assert statements[0].text.startswith("CREATE TYPE"), "the shared enum comes first in every group"
        assert sum(chunks.locks_of(s) for s in statements) <= 20
        creates = [s for s in statements if s.what.startswith("table ")]
        stubs = [s for s in creates if s.table in group.stubs]
        assert all("FOREIGN KEY" not in s.text and "PRIMARY KEY" in s.text for s in stubs)
        mine = [s.table[1] for s in creates if s.table not in group.stubs]
        owned += mine
        for s in statements:  # everything a group's own statements reference exists in the group
            assert all(r in {c.table for c in creates} for r in s.refs), (s.what, s.refs)
    assert sorted(owned) == sorted(["hub", *(f"t{n}" for n in range(8))]), "each table is real in exactly one group"
    plain = "CREATE TABLE x (\n\tid SERIAL NOT NULL, \n\ta INTEGER, \n\tPRIMARY KEY (id), \n\tFOREIGN KEY(a) REFERENCES y (id)\n)"
    assert (
        chunks.without_foreign_keys(plain)
        == "CREATE TABLE x (\n\tid SERIAL NOT NULL, \n\ta INTEGER, \n\tPRIMARY KEY (id)\n)"
    )
