"""The creation-order graph (`Schema.uses`, `schema/uses.py`) and the plans ordered by it.

Read from a real catalog: which functions a table's default, CHECK and index call, what a view calls, what
a SQL-standard body reads (pg_depend) and what a SQL string body names (parsed). Then a plan that must use it:
a column with a default and a CHECK calling new functions added to an existing table, and a SQL function
reading a new view that a second new view calls, each converging and dumping like `create_all`.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import DDL, event

from schemasync.diff import changes as c
from schemasync.schema import uses
from schemasync.schema.inspect import inspect
from tests.conftest import TestDB
from tests.engine.schema_helpers import create_all
from tests.engine.sync_helpers import prepare, rediff, sync
from tests.engine.test_pg_dump_equal import schema_dump, twin  # noqa: F401  (the twin fixture)

HAND_MADE = r'''
CREATE FUNCTION "next ""code"""() RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN 'x'; END $$;
CREATE FUNCTION "ok's"(v integer) RETURNS boolean LANGUAGE sql IMMUTABLE RETURN v > 0;
CREATE FUNCTION norm(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(t) $$;
CREATE TABLE "it's t" (id integer PRIMARY KEY, code text DEFAULT "next ""code"""(), qty integer CHECK ("ok's"(qty)),
                       name text);
CREATE INDEX t_norm ON "it's t" (norm(name));
CREATE VIEW "v $$" AS SELECT id, name FROM "it's t";
CREATE FUNCTION reads() RETURNS bigint LANGUAGE sql STABLE AS $b$ SELECT count(*) FROM "v $$" WHERE norm(name) <> '' $b$;
CREATE VIEW calls AS SELECT reads() AS n;
CREATE FUNCTION std() RETURNS bigint LANGUAGE sql STABLE BEGIN ATOMIC SELECT n FROM calls; END;
CREATE FUNCTION "ok mail"(t text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT t LIKE '%@%' $$;
CREATE DOMAIN "e-mail" AS text CHECK ("ok mail"(VALUE));
CREATE TYPE mood AS ENUM ('calm');
CREATE FUNCTION "of mail"(m "e-mail", moods mood[]) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT lower(m)';
CREATE FUNCTION later() RETURNS integer LANGUAGE plpgsql AS $$ BEGIN RETURN (SELECT count(*) FROM nowhere); END $$;
'''


def test_the_graph_has_what_each_object_needs_created_first(pg: TestDB) -> None:
    pg.execute(HAND_MADE)
    with pg.connect() as conn:
        schema = inspect(conn, schemas=["public"])
    graph = uses.graph(schema)
    table, view = ("table", "public", "it's t", ""), ("view", "public", "v $$", "")
    assert graph[table] == {
        ("routine", "public", 'next "code"', ""),
        ("routine", "public", "ok's", "integer"),
        ("routine", "public", "norm", "text"),
    }  # the default, the CHECK and the index expression
    assert graph[view] == {table}
    assert graph[("routine", "public", "reads", "")] == {view, ("routine", "public", "norm", "text")}  # parsed body
    assert graph[("view", "public", "calls", "")] == {("routine", "public", "reads", "")}
    assert graph[("routine", "public", "std", "")] == {("view", "public", "calls", "")}  # pg_depend
    assert graph[uses.type_node("public", "e-mail")] == {("routine", "public", "ok mail", "text")}  # its CHECK
    assert graph[("routine", "public", "of mail", 'public."e-mail", public.mood[]')] == {
        uses.type_node("public", "e-mail"),
        uses.type_node("public", "mood"),
    }  # argument types, an array by its element type
    assert ("routine", "public", "later", "") not in graph  # plpgsql: not read (not checked at creation)
    order = [uses.routine_node(r)[2] for r in _routine_order(schema)]
    assert order.index("norm") < order.index("reads")


def _routine_order(schema):  # type: ignore[no-untyped-def]
    from schemasync.diff.routines import creation_order

    return creation_order(schema.routines, schema)


def _models(*, added: bool) -> sa.MetaData:
    md = sa.MetaData()
    columns = [sa.Column("id", sa.Integer, primary_key=True, autoincrement=False), sa.Column("name", sa.Text)]
    if added:
        columns += [
            sa.Column("code", sa.Text, server_default=sa.text("next_code()")),
            sa.Column("qty", sa.Integer),
            sa.CheckConstraint('"ok\'s"(qty)', name="qty_ok"),
        ]
        for ddl in (
            "CREATE FUNCTION next_code() RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN 'c-' || md5(random()::text); "
            "END $$",
            'CREATE FUNCTION "ok\'s"(v integer) RETURNS boolean LANGUAGE sql IMMUTABLE RETURN v > 0',
        ):
            event.listen(md, "before_create", DDL(ddl))
    sa.Table("it's t", md, *columns)
    if added:
        for ddl in (
            'CREATE VIEW "v $$" AS SELECT id, name FROM "it\'s t"',
            'CREATE FUNCTION reads() RETURNS bigint LANGUAGE sql STABLE AS $b$ SELECT count(*) FROM "v $$" $b$',
            "CREATE VIEW calls AS SELECT reads() AS n",
        ):
            event.listen(md, "after_create", DDL(ddl))
    return md


def test_new_functions_come_before_the_columns_and_checks_that_call_them(pg: TestDB, twin: TestDB) -> None:  # noqa: F811
    """On an existing table: the functions before the added column's default and the CHECK, the view a SQL
    function reads before it, the view calling it after; it converges and pg_dump shows what create_all builds."""
    create_all(pg, _models(added=False))
    want = _models(added=True)
    prepared = prepare(pg, want)
    kinds = [type(x).__name__ + ":" + getattr(getattr(x, "routine", None), "name", "") for x in prepared.diff.changes]
    first = kinds.index("CreateRoutine:next_code")
    assert first < kinds.index("AddColumn:") and kinds.index("CreateRoutine:ok's") < kinds.index("AddCheck:")
    views = [x.view.name for x in prepared.diff.changes if isinstance(x, c.CreateView)]
    assert views == ["v $$", "calls"]
    order = [
        x.view.name if isinstance(x, c.CreateView) else x.routine.name
        for x in prepared.diff.changes
        if isinstance(x, c.CreateView | c.CreateRoutine)
    ]
    assert order.index("v $$") < order.index("reads") < order.index("calls")
    sync(pg, want)
    assert rediff(pg, want) == []
    create_all(twin, want)
    assert schema_dump(pg) == schema_dump(twin)
