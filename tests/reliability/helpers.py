"""What the fault tests share: a small app at version 1.0.0 going to 1.1.0, a lock holder, and checks.

The database starts with `people` (rows, recorded at 1.0.0); the 1.1.0 models add a table and a column,
so the plan creates `notes` first and then alters `people`. A test that holds a lock on `people` makes
the apply stop, deterministically, half-way through its transaction: after `CREATE TABLE notes` ran and
while `ALTER TABLE people` waits. That is where the faults are injected.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

from tests.conftest import TestDB

MODELS_V11 = textwrap.dedent(
    """
    from sqlalchemy import ForeignKey, String, Text
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


    class Base(DeclarativeBase):
        pass


    class Person(Base):
        __tablename__ = "people"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(100))
        email: Mapped[str | None] = mapped_column(String(200))


    class Note(Base):
        __tablename__ = "notes"
        id: Mapped[int] = mapped_column(primary_key=True)
        person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
        body: Mapped[str | None] = mapped_column(Text)
    """
)


def start_app(pg: TestDB, project: Path, *, version: str = "1.1.0", models: str = MODELS_V11) -> None:
    """The database at 1.0.0 (`people` with 20 rows, recorded), the project at `version` with `models`."""
    pg.execute("CREATE TABLE people (id serial PRIMARY KEY, name varchar(100) NOT NULL)")
    pg.execute("INSERT INTO people (name) SELECT 'person ' || g FROM generate_series(1, 20) g")
    from schemasync.history import versions

    with pg.connect() as conn, conn.transaction():
        versions.ensure_table(conn, announce=False)
        versions.record(conn, versions.Record("1.0.0", versions.Status.INITIAL, "development"))
    write_project(project, version, models)


def write_project(project: Path, version: str, models: str = MODELS_V11) -> None:
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "shop"\nversion = "{version}"\n\n[tool.schemasync]\nmodels = "shopmodels:Base"\n'
    )
    (project / "shopmodels.py").write_text(models)


def columns(pg: TestDB, table: str) -> list[str]:
    rows = pg.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped "
        "ORDER BY attnum",
        (f"public.{table}",),
    )
    return [str(r[0]) for r in rows]


def audit(pg: TestDB) -> list[tuple[Any, ...]]:
    """schema_versions as (version, status), oldest first."""
    return pg.execute("SELECT schema_version, status FROM schema_versions ORDER BY id")


def untouched(pg: TestDB) -> None:
    """The 1.0.0 database exactly: no `notes`, `people` unaltered with its rows, only the initial row."""
    assert columns(pg, "notes") == [], "notes was created: the transaction was not rolled back"
    assert columns(pg, "people") == ["id", "name"]
    assert pg.scalar("SELECT count(*) FROM people") == 20
    assert audit(pg) == [("1.0.0", "initial")]


def fully_applied(pg: TestDB, version: str = "1.1.0") -> None:
    assert columns(pg, "notes") == ["id", "person_id", "body"]
    assert columns(pg, "people") == ["id", "name", "email"]
    assert pg.scalar("SELECT count(*) FROM people") == 20
    assert audit(pg)[-1] == (version, "applied")


def change_lock_holders(pg: TestDB) -> list[int]:
    """Backends holding schemasync's advisory change lock on this database."""
    from schemasync.db import LOCK_CLASS_ID, LOCK_OBJECT_ID

    rows = pg.execute(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid::bigint = %s "
        "AND objid::bigint = %s AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        (LOCK_CLASS_ID & 0xFFFFFFFF, LOCK_OBJECT_ID),
    )
    return [int(r[0]) for r in rows]


@contextlib.contextmanager
def holding(pg: TestDB, statement: str = "SELECT count(*) FROM people") -> Iterator[psycopg.Connection]:
    """A session in an open transaction that ran `statement` (by default: ACCESS SHARE on people, which
    blocks any ALTER TABLE people until this session commits)."""
    conn = pg.connect()
    conn.autocommit = False
    conn.execute(statement)  # type: ignore[arg-type]
    try:
        yield conn
    finally:
        with contextlib.suppress(psycopg.Error):
            conn.rollback()
        conn.close()


def waiting_backend(pg: TestDB, timeout: float = 60.0, proc: subprocess.Popen[str] | None = None) -> int:
    """The pid of schemasync's backend once it waits for a heavyweight lock (the ALTER behind the holder)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = pg.execute(
            "SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'schemasync' AND wait_event_type = 'Lock'"
        )
        if rows:
            assert "ALTER TABLE" in str(rows[0][1]), rows
            return int(rows[0][0])
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"schemasync exited with {proc.returncode} before waiting:\n{out}\n{err}")
        time.sleep(0.05)
    raise AssertionError("schemasync never waited for the lock on people")


def cli_env(pg: TestDB, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCHEMASYNC_", "DATABASE_URL", "PROD_"))}
    return {**env, "DATABASE_URL": pg.url, "NO_COLOR": "1", "COLUMNS": "200", "TERM": "dumb", **extra}


def spawn(project: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """`schemasync ARGS` as its own process (so it can be killed), output captured."""
    return subprocess.Popen(
        [sys.executable, "-m", "schemasync", *args],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
