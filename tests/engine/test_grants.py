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
from schemasync.schema.ddl import compile_models
from schemasync.schema.model import Grant, Schema
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


def column_models(app: str, *grants: str) -> sa.MetaData:
    """A table with a hostile, mixed-case column and the column privileges `grants` (`SELECT (id)`, with
    ` WITH GRANT OPTION` at the end for that) for `app`."""
    md = sa.MetaData()
    sa.Table(
        "Docs.v2", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column('Body "x".y', sa.Text), schema="public"
    )
    sa.Table("notes", md, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False))
    for grant in grants:
        privileges, option = grant.split(" WITH ")[0], " WITH GRANT OPTION" if " WITH " in grant else ""
        event.listen(md, "after_create", DDL(f'GRANT {privileges} ON public."Docs.v2" TO {_quoted(app)}{option}'))
    return md


_BODY = _quoted('Body "x".y')


def _column_privileges(db: TestDB, role: str) -> list[tuple[str, str, bool]]:
    rows = db.execute(
        "SELECT column_name, privilege_type, is_grantable = 'YES' FROM information_schema.column_privileges"
        " WHERE grantee = %s AND table_name = 'Docs.v2' ORDER BY 1, 2",
        (role,),
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_column_privileges_created_from_empty_match_create_all(
    pg: TestDB,
    twin: TestDB,  # noqa: F811
    roles: tuple[str, str],
) -> None:
    app, _ = roles
    md = column_models(app, f"SELECT (id, {_BODY})", f"UPDATE ({_BODY}) ", "DELETE")
    prepared, _ = sync(pg, md)
    assert not prepared.desired.unmanaged_declared and not prepared.desired.model_errors
    assert {(g.privilege, g.column) for g in prepared.desired.grants} == {
        ("SELECT", "id"),
        ("SELECT", 'Body "x".y'),
        ("UPDATE", 'Body "x".y'),
        ("DELETE", ""),
    }
    assert _column_privileges(pg, app) == [
        ('Body "x".y', "SELECT", False),
        ('Body "x".y', "UPDATE", False),
        ("id", "SELECT", False),
    ]
    assert rediff(pg, md) == []
    try:
        create_all(twin, md)
        assert _grant_lines(pg) == _grant_lines(twin)
    finally:
        twin.execute(f"DROP OWNED BY {_quoted(app)}")


def test_column_privileges_change_and_a_table_wide_revoke_keeps_them(pg: TestDB, roles: tuple[str, str]) -> None:
    """REVOKE of a table-wide privilege takes the column privileges of the same name along: they are granted
    again after it, so the plan converges."""
    app, dba = roles
    pg.execute(
        'CREATE TABLE "Docs.v2" (id serial PRIMARY KEY, "Body ""x"".y" text);'
        f' GRANT SELECT, UPDATE ON "Docs.v2" TO {_quoted(app)}; GRANT SELECT (id) ON "Docs.v2" TO {_quoted(app)};'
        f' GRANT UPDATE (id) ON "Docs.v2" TO {_quoted(dba)}'
    )
    md = column_models(app, "SELECT (id)", f"UPDATE ({_BODY}) WITH GRANT OPTION")
    prepared, _ = sync(pg, md)
    quoted = _quoted(app)
    assert not prepared.desired.model_errors
    assert [s.sql for s in prepared.plan.statements if "Docs" in s.sql] == [
        f'REVOKE SELECT ON TABLE "public"."Docs.v2" FROM {quoted}',
        f'REVOKE UPDATE ON TABLE "public"."Docs.v2" FROM {quoted}',
        f'GRANT SELECT ("id") ON TABLE "public"."Docs.v2" TO {quoted}',
        f'GRANT UPDATE ({_BODY}) ON TABLE "public"."Docs.v2" TO {quoted} WITH GRANT OPTION',
    ]
    assert _column_privileges(pg, app) == [('Body "x".y', "UPDATE", True), ("id", "SELECT", False)]
    assert rediff(pg, md) == []
    # a column privilege moved to another column, the grant option taken away
    changed = column_models(app, f"SELECT ({_BODY})", f"UPDATE ({_BODY})")
    prepared, _ = sync(pg, changed)
    assert [s.sql for s in prepared.plan.statements] == [
        f'GRANT SELECT ({_BODY}) ON TABLE "public"."Docs.v2" TO {quoted}',
        f'REVOKE SELECT ("id") ON TABLE "public"."Docs.v2" FROM {quoted}',
        f'REVOKE GRANT OPTION FOR UPDATE ({_BODY}) ON TABLE "public"."Docs.v2" FROM {quoted}',
    ]
    assert rediff(pg, changed) == []
    assert _column_privileges(pg, app) == [('Body "x".y', "SELECT", False), ('Body "x".y', "UPDATE", False)]
    assert _column_privileges(pg, dba) == [("id", "UPDATE", False)]  # a role the models never name: untouched


def test_hand_made_column_privileges_left_alone_then_pruned(pg: TestDB, roles: tuple[str, str]) -> None:
    app, dba = roles
    md = column_models(app, "SELECT (id)")
    sync(pg, md)
    pg.execute(f"GRANT REFERENCES (id) ON notes TO {_quoted(app)}; GRANT SELECT (id) ON notes TO {_quoted(dba)}")
    prepared = prepare(pg, md)
    assert prepared.diff.empty
    assert [u.describe() for u in prepared.diff.unmanaged] == [
        f"privilege public.REFERENCES (id) on table notes to {app}"
    ]
    prepared, _ = sync(pg, md, prune=True)
    assert [s.sql for s in prepared.plan.statements] == [
        f'REVOKE REFERENCES ("id") ON TABLE "public"."notes" FROM {_quoted(app)}'
    ]
    assert rediff(pg, md, prune=True) == []
    with pg.connect() as conn:  # never the privileges of a role the models do not name
        assert conn.execute("SELECT has_column_privilege(%s, 'notes', 'id', 'SELECT')", (dba,)).fetchone() == (True,)


def test_a_dropped_column_takes_its_privileges_along(pg: TestDB, roles: tuple[str, str]) -> None:
    app, _ = roles
    sync(pg, column_models(app, f"SELECT (id, {_BODY})"))
    md = sa.MetaData()
    sa.Table("Docs.v2", md, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table("notes", md, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False))
    event.listen(md, "after_create", DDL(f'GRANT SELECT (id) ON "Docs.v2" TO {_quoted(app)}'))
    prepared, _ = sync(pg, md, prune=True)
    assert [type(c).__name__ for c in prepared.diff.changes] == ["DropColumn"]
    assert rediff(pg, md, prune=True) == []


def all_in_schema_models(app: str, schema: str, *, tables: tuple[str, ...] = ("Docs.v2",)) -> sa.MetaData:
    """Tables (and their serial sequences) in `schema`, granted by `ON ALL ... IN SCHEMA` to `app`."""
    md = sa.MetaData()
    for name in tables:
        sa.Table(name, md, sa.Column("id", sa.Integer, primary_key=True), schema=schema)
    quoted = _quoted(schema)
    for ddl in (
        f"GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA {quoted} TO {_quoted(app)}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {quoted} TO {_quoted(app)} WITH GRANT OPTION",
    ):
        event.listen(md, "after_create", DDL(ddl))
    return md


def test_grants_on_all_objects_in_a_schema_are_the_grants_on_the_models_objects(
    pg: TestDB,
    twin: TestDB,  # noqa: F811
    roles: tuple[str, str],
) -> None:
    """`GRANT ... ON ALL TABLES IN SCHEMA s` is its effect: a grant on each of the models' tables there. Run
    in the target's scratch schemas, it never touches the live objects of `s` (a hand-made table keeps no
    privilege of it), and the statement names the schema by its placeholder."""
    app, _ = roles
    schema = f'Odd.{uuid.uuid4().hex[:6]} "s"'
    pg.execute(f"CREATE SCHEMA {_quoted(schema)}; CREATE TABLE {_quoted(schema)}.hand (id int)")
    md = all_in_schema_models(app, schema)
    statements = [s.text for s in compile_models(md).statements if s.text.startswith("GRANT")]
    assert all(f"IN SCHEMA __[SCHEMA_{schema}] TO" in text for text in statements)
    prepared, _ = sync(pg, md)
    assert not prepared.desired.unmanaged_declared and not prepared.desired.model_errors
    assert sorted((g.kind, g.name, g.privilege, g.grantable) for g in prepared.desired.grants) == [
        ("sequence", "Docs.v2_id_seq", "USAGE", True),
        ("table", "Docs.v2", "INSERT", False),
        ("table", "Docs.v2", "SELECT", False),
    ]
    with pg.connect() as conn:
        privileges = conn.execute(
            "SELECT has_table_privilege(%(r)s, %(t)s, 'SELECT'), has_table_privilege(%(r)s, %(h)s, 'SELECT')",
            {"r": app, "t": f'{_quoted(schema)}."Docs.v2"', "h": f"{_quoted(schema)}.hand"},
        ).fetchone()
    assert privileges == (True, False)
    assert rediff(pg, md) == []
    # a new table in the schema gets the same privileges
    grown = all_in_schema_models(app, schema, tables=("Docs.v2", "Notes"))
    prepared, _ = sync(pg, grown)
    assert [s.sql for s in prepared.plan.statements if s.sql.startswith("GRANT")] == [
        f'GRANT USAGE ON SEQUENCE {_quoted(schema)}."Notes_id_seq" TO {_quoted(app)} WITH GRANT OPTION',
        f'GRANT INSERT ON TABLE {_quoted(schema)}."Notes" TO {_quoted(app)}',
        f'GRANT SELECT ON TABLE {_quoted(schema)}."Notes" TO {_quoted(app)}',
    ]
    assert rediff(pg, grown) == []
    try:
        twin.execute(f"CREATE SCHEMA {_quoted(schema)}")
        create_all(twin, grown)
        assert _grant_lines(pg) == _grant_lines(twin)
    finally:
        twin.execute(f"DROP OWNED BY {_quoted(app)}")


def test_other_bulk_and_database_grants_stay_custom_ddl(pg: TestDB, roles: tuple[str, str]) -> None:
    app, _ = roles
    md = sa.MetaData()
    sa.Table("docs", md, sa.Column("id", sa.Integer, primary_key=True))
    event.listen(md, "after_create", DDL(f"GRANT USAGE ON TYPE pg_catalog.int4 TO {_quoted(app)}"))
    event.listen(md, "after_create", DDL(f"GRANT TEMPORARY ON DATABASE {pg.name} TO {_quoted(app)}"))
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


def test_a_dev_cluster_gets_the_roles_of_column_grants_and_default_privileges(pg: TestDB, small_lock_pg: str) -> None:
    """The new forms name roles too: a column privilege's grantee, default privileges' creator (FOR ROLE) and
    grantee are made in the dev cluster (NOLOGIN) so the statements materialise, never in the target's."""
    ghost, maker = f'ghost "{uuid.uuid4().hex[:8]}"', f"Maker.{uuid.uuid4().hex[:8]}"
    md = sa.MetaData()
    sa.Table("docs", md, sa.Column("id", sa.Integer, primary_key=True))
    event.listen(md, "after_create", DDL(f"GRANT UPDATE (id) ON docs TO {_quoted(ghost)}"))
    defaults = f"ALTER DEFAULT PRIVILEGES FOR ROLE {_quoted(maker)} IN SCHEMA public GRANT SELECT ON TABLES TO"
    event.listen(md, "after_create", DDL(f"{defaults} {_quoted(ghost)}"))
    settings = settings_for(pg, dev_url=SecretStr(small_lock_pg))
    try:
        with pg.connect() as conn:
            schema, _ = desired_keyed(conn, md, cache_dir=None, dev=devdb.choose(conn, settings))
        assert not schema.model_errors and not schema.unmanaged_declared
        assert [(g.name, g.grantee, g.privilege, g.column) for g in schema.grants] == [("docs", ghost, "UPDATE", "id")]
        assert [(d.role, d.schema, d.kind, d.grantee) for d in schema.default_privileges] == [
            (maker, "public", "tables", ghost)
        ]
        with psycopg.connect(small_lock_pg) as dev:
            found = dev.execute(
                "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname IN (%s, %s) ORDER BY 1", (ghost, maker)
            ).fetchall()
        assert found == sorted([(ghost, False), (maker, False)])
        with pg.connect() as conn:
            count = conn.execute("SELECT count(*) FROM pg_roles WHERE rolname IN (%s, %s)", (ghost, maker))
            assert count.fetchone() == (0,)
    finally:
        with psycopg.connect(small_lock_pg, autocommit=True) as dev:
            dev.execute(f"DROP ROLE IF EXISTS {_quoted(ghost)}")
            dev.execute(f"DROP ROLE IF EXISTS {_quoted(maker)}")


def test_snapshots_stored_before_column_privileges_still_load() -> None:
    """A snapshot's grants written without the `column` field read as privileges on the whole object."""
    old = {"kind": "table", "schema": "public", "name": "docs", "arguments": "", "grantee": "app"}
    loaded = Schema.from_dict({"format": 1, "grants": [{**old, "privilege": "SELECT", "grantable": False}]})
    assert loaded.grants == (Grant("table", "public", "docs", "", "app", "SELECT"),)
    assert loaded.grants[0].column == ""
    assert Schema.from_json(loaded.to_json()) == loaded


def test_role_membership_and_event_triggers_are_reported_with_why_they_are_not_managed(
    pg: TestDB, roles: tuple[str, str]
) -> None:
    """Cluster-wide or superuser-only declarations stay custom DDL, each reported as declared and unmanaged with
    the reason, so `check` never says "in sync" about them and the user knows they are theirs to run."""
    app, dba = roles
    md = sa.MetaData()
    sa.Table("docs", md, sa.Column("id", sa.Integer, primary_key=True))
    event.listen(md, "after_create", DDL(f"GRANT {_quoted(dba)} TO {_quoted(app)}"))
    event.listen(
        md,
        "after_create",
        DDL("CREATE FUNCTION note_drop() RETURNS event_trigger LANGUAGE plpgsql AS 'BEGIN END'"),
    )
    event.listen(md, "after_create", DDL("CREATE EVENT TRIGGER no_drops ON sql_drop EXECUTE FUNCTION note_drop()"))
    prepared = prepare(pg, md)
    described = sorted(u.describe() for u in prepared.unmanaged_declared)
    assert len(described) == 2 and all(d.startswith("custom DDL on public.(the metadata): ") for d in described)
    assert "an event trigger: database-wide" in described[0] and "only a superuser may create one" in described[0]
    assert "role membership: roles and their memberships belong to the whole cluster" in described[1]
    assert "needs CREATEROLE or a superuser, so schemasync does not manage them" in described[1]
    assert not prepared.matches and not prepared.model_errors
