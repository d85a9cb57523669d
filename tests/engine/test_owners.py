"""Owners, opt in (the `owner` setting): unset, nothing about owners is compared or planned; set, every object
the models declare is given to that role, the objects they do not declare are never touched, and a role
PostgreSQL refuses stops the plan with nothing applied. Checked against the catalog, never the plan alone.

Each test makes its own roles with unique names (roles belong to the whole cluster) and drops them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import DDL, event

from schemasync.apply import ApplyFailed
from schemasync.diff import changes as c
from schemasync.plan import HazardKind
from tests.conftest import TestDB, url_for
from tests.engine.sync_helpers import prepare, rediff, sync


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@pytest.fixture
def owner(pg: TestDB) -> Iterator[str]:
    """A role with a hostile name, dropped afterwards with what it owns."""
    name = f'app "owner" {uuid.uuid4().hex[:8]}'
    with psycopg.connect(url_for("postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {_quoted(name)} NOLOGIN")
    try:
        yield name
    finally:
        pg.execute(f"DROP OWNED BY {_quoted(name)} CASCADE")
        with psycopg.connect(url_for("postgres"), autocommit=True) as conn:
            conn.execute(f"DROP ROLE {_quoted(name)}")


def models(*, view_column: str = "title") -> sa.MetaData:
    """One object of every governed kind, most in a schema of their own."""
    md = sa.MetaData()
    mood = sa.Enum("happy", "sad", name="mood", schema="app")
    sa.Table(
        "docs",
        md,
        sa.Column("id", sa.Integer, primary_key=True),  # a serial: its sequence follows the table
        sa.Column("title", sa.Text),
        sa.Column("mood", mood),
        schema="app",
    )
    sa.Sequence("tickets", metadata=md, schema="app")
    sa.Table(
        "events",
        md,
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("at", sa.Date, nullable=False),
        postgresql_partition_by="RANGE (at)",
    )
    event.listen(md, "before_create", DDL("CREATE DOMAIN app.positive AS integer CHECK (VALUE > 0)"))
    event.listen(md, "before_create", DDL("CREATE TYPE app.pair AS (a integer, b text)"))
    for sql in (
        "CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
        "CREATE FUNCTION app.doc_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM app.docs'",
        "CREATE PROCEDURE app.noop() LANGUAGE sql AS 'SELECT 1'",
        f"CREATE VIEW app.titles AS SELECT id, {view_column} FROM app.docs",
        "CREATE MATERIALIZED VIEW app.counts AS SELECT count(*) AS n FROM app.docs",
    ):
        event.listen(md, "after_create", DDL(sql))
    return md


GOVERNED = {
    ("schema", "app"),
    ("table", "app.docs"),
    ("table", "public.events"),
    ("table", "public.events_2024"),
    ("sequence", "app.tickets"),
    ("type", "app.mood"),
    ("type", "app.pair"),
    ("domain", "app.positive"),
    ("function", "app.doc_count()"),
    ("procedure", "app.noop()"),
    ("view", "app.titles"),
    ("materialized view", "app.counts"),
}


def _owners(pg: TestDB) -> dict[tuple[str, str], str]:
    """Owner of every object in app and public, straight from the catalog (the serial's sequence included)."""
    with pg.connect() as conn:
        rows = conn.execute(
            """
            SELECT 'schema', nspname, nspowner::regrole::text FROM pg_namespace WHERE nspname IN ('app', 'public')
            UNION ALL
            SELECT CASE relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence'
                                WHEN 'i' THEN 'index' ELSE 'table' END,
                   relnamespace::regnamespace::text || '.' || relname, relowner::regrole::text
              FROM pg_class WHERE relnamespace IN ('app'::regnamespace, 'public'::regnamespace)
               AND relkind IN ('r', 'p', 'v', 'm', 'S', 'i')
            UNION ALL
            SELECT CASE typtype WHEN 'd' THEN 'domain' ELSE 'type' END,
                   typnamespace::regnamespace::text || '.' || typname, typowner::regrole::text
              FROM pg_type t WHERE typnamespace = 'app'::regnamespace AND typtype IN ('e', 'd', 'c')
               AND (typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
            UNION ALL
            SELECT CASE prokind WHEN 'p' THEN 'procedure' ELSE 'function' END,
                   pronamespace::regnamespace::text || '.' || proname || '()', proowner::regrole::text
              FROM pg_proc WHERE pronamespace = 'app'::regnamespace
            """
        ).fetchall()
    return {(kind, name): role.strip('"').replace('""', '"') for kind, name, role in rows}


def _alter_owners(prepared: object) -> list[c.AlterOwner]:
    return [x for x in prepared.diff.changes if isinstance(x, c.AlterOwner)]  # type: ignore[attr-defined]


def test_unset_owner_compares_nothing_then_set_gives_every_declared_object_away(pg: TestDB, owner: str) -> None:
    prepared, _ = sync(pg, models())
    assert not _alter_owners(prepared), "without the setting, owners are never planned"
    with pg.connect() as conn:
        conn.execute("CREATE TABLE hand_made (id int)")  # not in the models: never touched
    assert rediff(pg, models()) == []

    prepared = prepare(pg, models(), owner=owner)
    changes = _alter_owners(prepared)
    found = {
        (
            x.kind,
            x.schema
            if x.kind == "schema"
            else f"{x.schema}.{x.name}" + ("()" if x.arguments == "" and x.kind in ("function", "procedure") else ""),
        )
        for x in changes
    }
    assert found == GOVERNED
    assert {x.old_owner for x in changes} == {"postgres"}
    statements = [s for s in prepared.plan.statements if "OWNER TO" in s.sql]
    assert all(h.kind is HazardKind.CORRECTNESS for s in statements for h in s.hazards)
    assert all(s.hazards for s in statements), "the previous owner loses its implicit privileges: said"
    assert f'ALTER FUNCTION "app"."doc_count"() OWNER TO {_quoted(owner)}' in [s.sql for s in statements]

    sync(pg, models(), owner=owner)
    owners = _owners(pg)
    assert {key for key, role in owners.items() if role == owner} >= GOVERNED
    assert owners[("sequence", "app.docs_id_seq")] == owner, "a serial's sequence follows its table"
    assert owners[("index", "app.docs_pkey")] == owner
    assert owners[("table", "public.hand_made")] == "postgres"
    assert owners[("schema", "public")] != owner, "public is the database's, not the models'"
    assert rediff(pg, models(), owner=owner) == []
    assert rediff(pg, models()) == [], "unset again: owners are not compared"


def test_created_from_empty_and_recreated_objects_are_given_to_the_owner(pg: TestDB, owner: str) -> None:
    prepared, _ = sync(pg, models(), owner=owner)
    changes = _alter_owners(prepared)
    assert {x.old_owner for x in changes} == {None}
    assert not any(s.hazards for s in prepared.plan.statements if "OWNER TO" in s.sql)
    kinds = [type(x).__name__ for x in prepared.diff.changes]
    assert kinds[-len(changes) :] == ["AlterOwner"] * len(changes), "after every object exists"
    assert {key for key, role in _owners(pg).items() if role == owner} >= GOVERNED
    assert rediff(pg, models(), owner=owner) == []
    # a view dropped and created again (a column renamed) belongs to the executing role: given back
    prepared, _ = sync(pg, models(view_column="title AS heading"), owner=owner)
    assert [(x.kind, x.name) for x in _alter_owners(prepared)] == [("view", "titles")]
    assert _owners(pg)[("view", "app.titles")] == owner
    assert rediff(pg, models(view_column="title AS heading"), owner=owner) == []


def test_a_role_postgresql_refuses_stops_the_plan_with_nothing_applied(pg: TestDB) -> None:
    ghost = f"ghost_{uuid.uuid4().hex[:8]}"
    with pytest.raises(ApplyFailed) as failed:
        sync(pg, models(), owner=ghost)
    message = str(failed.value)
    assert "owner setting" in message and f'role "{ghost}" does not exist' in message
    assert "nothing was changed" in message
    with pg.connect() as conn:
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'app'").fetchone() == (0,)


def test_an_executing_role_that_is_not_a_member_of_the_owner_is_refused_clearly(pg: TestDB, owner: str) -> None:
    """PostgreSQL gives an object away only to a role the executing one is a member of (or as a superuser)."""
    runner = f"runner_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url_for("postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {runner} LOGIN")
        conn.execute(f'GRANT CREATE ON DATABASE "{pg.name}" TO {runner}')
    pg.execute(f"GRANT CREATE ON SCHEMA public TO {runner}")
    as_runner = TestDB(pg.name, pg.url.replace("://postgres@", f"://{runner}@", 1))
    try:
        with pytest.raises(ApplyFailed) as failed:
            sync(as_runner, models(), owner=owner)
        message = str(failed.value)
        assert "refused to give an object to the role of the owner setting" in message
        assert "member of the new owner" in message and "nothing was changed" in message
        with pg.connect() as conn:
            assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'app'").fetchone() == (0,)
        with psycopg.connect(url_for("postgres"), autocommit=True) as conn:
            conn.execute(f"GRANT {_quoted(owner)} TO {runner}")
        pg.execute(f"GRANT CREATE ON SCHEMA public TO {_quoted(owner)}")  # an owner must be able to create there
        sync(as_runner, models(), owner=owner)  # a member now: it goes through
        assert _owners(pg)[("table", "app.docs")] == owner
        assert rediff(as_runner, models(), owner=owner) == []
    finally:
        pg.execute(f"DROP OWNED BY {runner} CASCADE")
        with psycopg.connect(url_for("postgres"), autocommit=True) as conn:
            conn.execute(f'REVOKE CREATE ON DATABASE "{pg.name}" FROM {runner}')
            conn.execute(f"DROP ROLE {runner}")


def test_per_object_owner_ddl_events_stay_custom_ddl() -> None:
    """The setting is the one place that says who owns what: `ALTER ... OWNER TO` events are not managed."""
    from schemasync.schema.ddl import compile_models, managed_ddl

    md = models()
    event.listen(md, "after_create", DDL("ALTER TABLE app.docs OWNER TO someone"))
    assert managed_ddl("ALTER TABLE app.docs OWNER TO someone") is None
    assert [u.kind for u in compile_models(md).unmanaged] == ["custom DDL"]
