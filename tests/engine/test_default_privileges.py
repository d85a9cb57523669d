"""Default privileges (`ALTER DEFAULT PRIVILEGES ... IN SCHEMA ... GRANT`) declared by DDL events: managed for the
grantees the models name, in the models' schemas; database-wide ones stay custom DDL, reported with why.

Each test makes its own roles (roles belong to the whole cluster) and drops them. The independent look is
pg_dump's own ALTER DEFAULT PRIVILEGES and GRANT lines, against `create_all` of the same models.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import DDL, event

from schemasync import db as dbmod
from schemasync import pgtools
from schemasync.schema.ddl import compile_models
from schemasync.schema.model import DefaultPrivilege
from tests.conftest import TestDB, url_for
from tests.engine.schema_helpers import create_all
from tests.engine.sync_helpers import live, prepare, rediff, sync
from tests.engine.test_pg_dump_equal import twin  # noqa: F401  (the twin fixture)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@pytest.fixture
def roles(pg: TestDB) -> Iterator[tuple[str, str, str]]:
    """A grantee the models name (hostile name), a creator they name with FOR ROLE, one they never mention."""
    names = (f'app "{uuid.uuid4().hex[:8]}"', f"Maker.{uuid.uuid4().hex[:8]}", f"dba_{uuid.uuid4().hex[:8]}")
    with psycopg.connect(url_for("postgres"), autocommit=True) as conn:
        for name in names:
            conn.execute(f"CREATE ROLE {_quoted(name)}")
    try:
        yield names
    finally:
        for name in names:
            pg.execute(f"DROP OWNED BY {_quoted(name)}")
        with psycopg.connect(url_for("postgres"), autocommit=True) as conn:
            for name in names:
                conn.execute(f"DROP ROLE {_quoted(name)}")


SCHEMA = 'Odd.s "x"'


def models(app: str, maker: str, *, tables: str = "SELECT, INSERT") -> sa.MetaData:
    md = sa.MetaData()
    sa.Table("docs", md, sa.Column("id", sa.Integer, primary_key=True), schema=SCHEMA)
    where = _quoted(SCHEMA)
    for ddl in (
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {where} GRANT {tables} ON TABLES TO {_quoted(app)}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {_quoted(maker)} IN SCHEMA {where} GRANT USAGE ON SEQUENCES "
        f"TO {_quoted(app)} WITH GRANT OPTION",
    ):
        event.listen(md, "after_create", DDL(ddl))
    return md


def _dump_lines(db: TestDB) -> list[str]:
    with db.connect() as conn:
        server = int(conn.info.server_version)
    binary = pgtools.find("pg_dump", server // 10000)
    out = subprocess.run(
        [str(binary.path), "--schema-only", "--no-owner", "-d", dbmod.parse_url(db.url, "test").conninfo],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted(line for line in out.splitlines() if line.startswith(("ALTER DEFAULT PRIVILEGES", "GRANT ")))


def test_created_from_empty_match_create_all_and_apply_to_new_objects(
    pg: TestDB,
    twin: TestDB,  # noqa: F811
    roles: tuple[str, str, str],
) -> None:
    app, maker, _ = roles
    md = models(app, maker)
    texts = [s.text for s in compile_models(md).statements if s.text.startswith("ALTER DEFAULT")]
    assert all(f"IN SCHEMA __[SCHEMA_{SCHEMA}] GRANT" in t for t in texts)  # the models' copy only, never live
    pg.execute(f"CREATE SCHEMA {_quoted(SCHEMA)}")  # its own defaults are part of the test too
    prepared, _ = sync(pg, md)
    assert not prepared.desired.unmanaged_declared and not prepared.desired.model_errors
    assert sorted(live(pg).default_privileges, key=lambda d: d.key) == [
        DefaultPrivilege("", SCHEMA, "tables", app, "INSERT"),
        DefaultPrivilege("", SCHEMA, "tables", app, "SELECT"),
        DefaultPrivilege(maker, SCHEMA, "sequences", app, "USAGE", True),
    ]
    assert rediff(pg, md) == []
    pg.execute(f"CREATE TABLE {_quoted(SCHEMA)}.later (id int)")  # the defaults at work
    with pg.connect() as conn:
        assert conn.execute(
            "SELECT has_table_privilege(%s, %s, 'INSERT')", (app, f"{_quoted(SCHEMA)}.later")
        ).fetchone() == (True,)
    pg.execute(f"DROP TABLE {_quoted(SCHEMA)}.later")
    try:
        twin.execute(f"CREATE SCHEMA {_quoted(SCHEMA)}")
        create_all(twin, md)
        assert _dump_lines(pg) == _dump_lines(twin)
    finally:
        twin.execute(f"DROP OWNED BY {_quoted(app)}; DROP OWNED BY {_quoted(maker)}")


def test_changed_left_alone_and_pruned(pg: TestDB, roles: tuple[str, str, str]) -> None:
    app, maker, dba = roles
    sync(pg, models(app, maker))
    where = _quoted(SCHEMA)
    pg.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {where} GRANT EXECUTE ON FUNCTIONS TO {_quoted(app)};"
        f" ALTER DEFAULT PRIVILEGES IN SCHEMA {where} GRANT ALL ON TABLES TO {_quoted(dba)}"
    )
    changed = models(app, maker, tables="SELECT")
    prepared, _ = sync(pg, changed)
    assert [s.sql for s in prepared.plan.statements] == [
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {where} REVOKE INSERT ON TABLES FROM {_quoted(app)}"
    ]
    assert [h.kind.name for s in prepared.plan.statements for h in s.hazards] == ["CORRECTNESS"]
    assert rediff(pg, changed) == []
    prepared = prepare(pg, changed)
    assert [u.describe() for u in prepared.diff.unmanaged] == [
        f"default privilege {SCHEMA}.EXECUTE on new functions in {SCHEMA} (created by the role schemasync runs as) "
        f"for {app}"
    ]
    dba_defaults = [d for d in live(pg).default_privileges if d.grantee == dba]
    assert len(dba_defaults) >= 7  # ALL ON TABLES
    prepared, _ = sync(pg, changed, prune=True)
    assert [s.sql for s in prepared.plan.statements] == [
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {where} REVOKE EXECUTE ON FUNCTIONS FROM {_quoted(app)}"
    ]
    assert rediff(pg, changed, prune=True) == []
    # a role the models never name keeps everything, prune or not
    assert [d for d in live(pg).default_privileges if d.grantee == dba] == dba_defaults


def test_database_wide_default_privileges_stay_custom_ddl_with_why(pg: TestDB, roles: tuple[str, str, str]) -> None:
    app, _, _ = roles
    md = sa.MetaData()
    sa.Table("docs", md, sa.Column("id", sa.Integer, primary_key=True))
    event.listen(md, "after_create", DDL(f"ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO {_quoted(app)}"))
    (unmanaged,) = compile_models(md).unmanaged
    assert unmanaged.kind == "custom DDL" and "add IN SCHEMA to have them managed" in unmanaged.detail
