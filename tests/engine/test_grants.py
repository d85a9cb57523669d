"""Privileges declared by the models' GRANT DDL events, managed for the roles the models name only.

Each test makes its own roles with unique names (roles belong to the whole cluster) and drops them.
The independent look is pg_dump's own GRANT lines, against `create_all` of the same models.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy import DDL, event

from schemasync.schema import devdb
from schemasync.schema.target import desired_keyed
from tests.conftest import TestDB, url_for
from tests.engine.schema_helpers import create_all
from tests.engine.sync_helpers import prepare, rediff, settings_for, sync
from tests.engine.test_pg_dump_equal import twin  # noqa: F401  (the twin fixture)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@pytest.fixture
def roles(pg: TestDB) -> Iterator[tuple[str, str]]:
    """A role the models name (with a hostile name) and one they never mention; dropped afterwards."""
    names = (f'app "{uuid.uuid4().hex[:8]}"', f"dba_{uuid.uuid4().hex[:8]}")
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


def models(app: str, *, table: str = "SELECT, INSERT", option: bool = False) -> sa.MetaData:
    md = sa.MetaData()
    sa.Table("docs", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("body", sa.Text))
    sa.Table("notes", md, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False))  # nothing granted
    role = _quoted(app)
    for ddl in (
        "CREATE FUNCTION doc_count() RETURNS bigint LANGUAGE sql STABLE AS 'SELECT count(*) FROM docs'",
        f"GRANT {table} ON docs TO {role}" + (" WITH GRANT OPTION" if option else ""),
        f"GRANT USAGE ON SEQUENCE docs_id_seq TO {role}",
        f"GRANT EXECUTE ON FUNCTION public.doc_count() TO {role}",
        f"GRANT USAGE ON SCHEMA public TO {role}",
    ):
        event.listen(md, "after_create", DDL(ddl))
    return md


def _grant_lines(db: TestDB) -> list[str]:
    from schemasync import db as dbmod
    from schemasync import pgtools

    with db.connect() as conn:
        server = int(conn.info.server_version)
    binary = pgtools.find("pg_dump", server // 10000)
    out = subprocess.run(
        [str(binary.path), "--schema-only", "--no-owner", "-d", dbmod.parse_url(db.url, "test").conninfo],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted(line for line in out.splitlines() if line.startswith(("GRANT ", "REVOKE ")))


def test_created_from_empty_match_create_all(pg: TestDB, twin: TestDB, roles: tuple[str, str]) -> None:  # noqa: F811
    app, _ = roles
    prepared, _ = sync(pg, models(app))
    assert not prepared.desired.unmanaged_declared and not prepared.desired.model_errors
    with pg.connect() as conn:
        row = conn.execute(
            "SELECT has_table_privilege(%(r)s, 'docs', 'SELECT'), has_table_privilege(%(r)s, 'docs', 'DELETE'),"
            " has_sequence_privilege(%(r)s, 'docs_id_seq', 'USAGE'),"
            " has_function_privilege(%(r)s, 'doc_count()', 'EXECUTE'), has_schema_privilege(%(r)s, 'public', 'USAGE')",
            {"r": app},
        ).fetchone()
    assert row == (True, False, True, True, True)
    assert rediff(pg, models(app)) == []
    try:
        create_all(twin, models(app))
        assert _grant_lines(pg) == _grant_lines(twin)
    finally:
        twin.execute(f"DROP OWNED BY {_quoted(app)}")


def test_named_roles_follow_the_models_and_others_are_never_touched(pg: TestDB, roles: tuple[str, str]) -> None:
    app, dba = roles
    sync(pg, models(app))
    pg.execute(f"GRANT DELETE ON docs TO {_quoted(app)}; GRANT ALL ON docs TO {_quoted(dba)}")
    changed = models(app, table="SELECT", option=True)
    prepared, _ = sync(pg, changed)
    assert [s.sql for s in prepared.plan.statements] == [
        f'GRANT SELECT ON TABLE "public"."docs" TO {_quoted(app)} WITH GRANT OPTION',
        f'REVOKE DELETE ON TABLE "public"."docs" FROM {_quoted(app)}',
        f'REVOKE INSERT ON TABLE "public"."docs" FROM {_quoted(app)}',
    ]
    assert rediff(pg, changed) == []
    with pg.connect() as conn:  # the role the models never mention keeps everything, prune or not
        assert conn.execute("SELECT has_table_privilege(%s, 'docs', 'DELETE')", (dba,)).fetchone() == (True,)

    # A named role's privilege on another of the models' objects: left alone, then revoked with prune.
    pg.execute(f"GRANT SELECT ON notes TO {_quoted(app)}")
    prepared = prepare(pg, changed)
    assert prepared.diff.empty
    assert [u.describe() for u in prepared.diff.unmanaged] == [f"privilege public.SELECT on table notes to {app}"]
    prepared, _ = sync(pg, changed, prune=True)
    assert [s.sql for s in prepared.plan.statements] == [f'REVOKE SELECT ON TABLE "public"."notes" FROM {_quoted(app)}']
    assert rediff(pg, changed, prune=True) == []
    with pg.connect() as conn:
        assert conn.execute("SELECT has_table_privilege(%s, 'docs', 'DELETE')", (dba,)).fetchone() == (True,)


def test_column_and_bulk_grants_stay_custom_ddl(pg: TestDB, roles: tuple[str, str]) -> None:
    app, _ = roles
    md = sa.MetaData()
    sa.Table("docs", md, sa.Column("id", sa.Integer, primary_key=True))
    event.listen(md, "after_create", DDL(f"GRANT SELECT (id) ON docs TO {_quoted(app)}"))
    event.listen(md, "after_create", DDL(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {_quoted(app)}"))
    prepared, _ = sync(pg, md)
    assert [u.kind for u in prepared.desired.unmanaged_declared] == ["custom DDL", "custom DDL"]


def test_a_dev_database_on_another_cluster_gets_the_roles_the_models_name(pg: TestDB, small_lock_pg: str) -> None:
    """The models name a role the dev cluster lacks: it is made there (NOLOGIN) so the GRANT materialises;
    the target's cluster never gets it, and materialised in the target itself the GRANT is a model error."""
    ghost = f'ghost "{uuid.uuid4().hex[:8]}"'
    md = sa.MetaData()
    sa.Table("docs", md, sa.Column("id", sa.Integer, primary_key=True))
    event.listen(md, "after_create", DDL(f"GRANT SELECT ON docs TO {_quoted(ghost)}"))
    event.listen(md, "after_create", DDL(f"CREATE POLICY seen ON docs FOR SELECT TO {_quoted(ghost)} USING (true)"))
    settings = settings_for(pg, dev_url=SecretStr(small_lock_pg))
    try:
        with pg.connect() as conn:
            choice = devdb.choose(conn, settings)
            assert choice.kind == devdb.DEV_URL
            schema, _ = desired_keyed(conn, md, cache_dir=None, dev=choice)
            in_target, _ = desired_keyed(conn, md, cache_dir=None)
        assert not schema.model_errors
        assert [(g.name, g.grantee, g.privilege) for g in schema.grants] == [("docs", ghost, "SELECT")]
        assert [(p.name, p.roles) for p in schema.policies] == [("seen", (ghost,))]
        with psycopg.connect(small_lock_pg) as dev:
            assert dev.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (ghost,)).fetchall() == [(False,)]
        with pg.connect() as conn:
            assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", (ghost,)).fetchone() == (0,)
        assert [e.kind for e in in_target.model_errors] == ["custom DDL", "custom DDL"] and not in_target.grants
    finally:
        with psycopg.connect(small_lock_pg, autocommit=True) as dev:
            dev.execute(f"DROP ROLE IF EXISTS {_quoted(ghost)}")
