"""`introspect`: models from a database that check clean against the database they came from."""

from __future__ import annotations

import ast
import subprocess
import sys
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from tests.conftest import EXAMPLES, TestDB, url_for
from tests.engine.sync_helpers import sync


def _example_metadata():  # type: ignore[no-untyped-def]
    from schemasync.schema.target import load_models

    return load_models("exampleapp.models:Base", EXAMPLES / "app")


def test_introspect_the_example_app_database_round_trips_clean(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    sync(pg, _example_metadata(), version="1.0.0")  # also writes schema_versions and schema_snapshots
    pg.execute(
        """
        CREATE TABLE labels (code integer PRIMARY KEY, title text COLLATE "C" NOT NULL,
                             tags text[] NOT NULL DEFAULT '{}', upper_title text GENERATED ALWAYS AS (upper(title)) STORED,
                             CONSTRAINT labels_code_positive CHECK (code > 0));
        COMMENT ON COLUMN labels.title IS 'shown to people';
        CREATE INDEX labels_tags_gin ON labels USING gin (tags);
        CREATE INDEX labels_title_lower ON labels (lower(title) DESC NULLS LAST) WHERE code > 10;
        CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
        CREATE VIEW "label's view" AS SELECT code, title || '%s $$ '' ' AS shown FROM labels WHERE code > 1;
        CREATE MATERIALIZED VIEW label_counts AS SELECT count(*) AS n FROM "label's view";
        CREATE UNIQUE INDEX label_counts_n ON label_counts (n);
        """
    )
    env = {"DATABASE_URL": pg.url}
    written = cli("introspect", "--output", "generated.py", env=env)
    assert written.code == 0, written.output
    source = (cli.project / "generated.py").read_text()
    ast.parse(source)
    assert "class Base(DeclarativeBase)" in source and "Mapped[" in source
    assert "class SchemaVersions" not in source and "schema_snapshots" not in source and "alembic_version" not in source
    assert "text('lower((email)::text)'), unique=True, postgresql_where=text('deleted_at IS NULL')" in source
    assert "Index('ix_audit_log_org_time', 'organisation_id', text('occurred_at DESC'))" in source
    assert "postgresql_using='gin'" in source and "autoincrement=False" in source
    assert source.index("CREATE VIEW") < source.index("CREATE MATERIALIZED VIEW") < source.index("label_counts_n")
    check = cli("check", "--models", "generated:Base", env=env)
    assert check.code == 0, check.output + source
    assert "In sync" in check.stdout

    printed = cli("introspect", "--table", "labels", env=env)
    assert printed.code == 0 and "class Labels" in printed.stdout and "class Users" not in printed.stdout


def test_introspect_bad_inputs(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": pg.url}
    empty = cli("introspect", env=env)
    assert empty.code == 1 and "There are no tables in public" in empty.stderr
    pg.execute("CREATE TABLE t (id int PRIMARY KEY)")
    missing = cli("introspect", "--table", "nope", env=env)
    assert missing.code == 1 and "There is no table public.nope" in missing.stderr
    for result in (empty, missing):
        assert "Traceback" not in result.output


# One of each kind the engine manages beyond plain tables, with hostile names and bodies.
EVERY_KIND = r'''
CREATE EXTENSION citext;
CREATE EXTENSION btree_gist;
CREATE DOMAIN quantity AS integer DEFAULT 1 NOT NULL CONSTRAINT quantity_positive CHECK (VALUE > 0);
CREATE DOMAIN "odd ""name""" AS text COLLATE "C" CHECK (VALUE <> '$$');
CREATE TYPE money_amount AS (currency char(3), "it's" bigint);
CREATE TYPE "it's range" AS RANGE (SUBTYPE = float8, SUBTYPE_DIFF = float8mi);
CREATE TABLE spans (id integer PRIMARY KEY, span "it's range", history "it's range"[]);
CREATE TABLE items (id integer PRIMARY KEY, qty quantity, price money_amount, prices money_amount[],
                    email citext, label "odd ""name""");
CREATE TABLE booking (id integer PRIMARY KEY, room integer, during tsrange, note text,
    CONSTRAINT "no ""double"" booking" EXCLUDE USING gist (room WITH =, during WITH &&) WHERE (note IS NOT NULL))
    WITH (fillfactor = 70, autovacuum_enabled = false);
CREATE INDEX ix_booking_note ON booking (lower(note)) WITH (fillfactor = 60);
CREATE TABLE slots (room integer, during tsrange,
    CONSTRAINT slots_no_overlap EXCLUDE USING gist (room WITH =, during WITH &&) DEFERRABLE);
CREATE UNLOGGED TABLE cache_entries (key text PRIMARY KEY, value jsonb);
CREATE TABLE events (id integer NOT NULL, created_at date NOT NULL, PRIMARY KEY (id, created_at))
    PARTITION BY RANGE (created_at);
CREATE TABLE "events '25" PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE events_default PARTITION OF events DEFAULT;
CREATE VIEW "it's $$ view" AS SELECT id, qty, 'a $$ b %s '' c $x$'::text AS note FROM items WHERE id > 1;
CREATE MATERIALIZED VIEW item_counts WITH (fillfactor = 80) AS SELECT count(*) AS n FROM "it's $$ view";
CREATE UNIQUE INDEX item_counts_n ON item_counts (n);
CREATE FUNCTION "it's ""touch"""() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    RAISE NOTICE '100%% of $$ and '' in %', TG_NAME;
    NEW.qty := coalesce(NEW.qty, 1);
    RETURN NEW;
END
$body$;
CREATE FUNCTION item_total(p_id integer, OUT total bigint) LANGUAGE sql STABLE
    AS 'SELECT (price)."it''s" * qty FROM items WHERE id = p_id';
CREATE FUNCTION doubled(p_id integer) RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT 2 * item_total(p_id) $$;
CREATE PROCEDURE purge_cache(older text DEFAULT '%') LANGUAGE sql AS $$ DELETE FROM cache_entries WHERE key LIKE older $$;
CREATE TRIGGER "items' touch" BEFORE INSERT OR UPDATE ON items FOR EACH ROW EXECUTE FUNCTION "it's ""touch"""();
CREATE CONSTRAINT TRIGGER "items' later" AFTER UPDATE ON items DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION "it's ""touch"""();
ALTER TABLE items ENABLE ROW LEVEL SECURITY;
ALTER TABLE items FORCE ROW LEVEL SECURITY;
CREATE POLICY "small's" ON items AS RESTRICTIVE FOR SELECT TO {role} USING (qty < 100 AND label <> '%');
GRANT SELECT, UPDATE ON items TO {role};
GRANT EXECUTE ON FUNCTION doubled(integer) TO {role} WITH GRANT OPTION;
GRANT SELECT ON "it's $$ view" TO {role};
COMMENT ON FUNCTION "it's ""touch"""() IS 'it''s $$ a
trigger %% function';
COMMENT ON PROCEDURE purge_cache(text) IS E'back\\slash';
COMMENT ON TRIGGER "items' touch" ON items IS 'stamps';
COMMENT ON POLICY "small's" ON items IS 'small ''s';
COMMENT ON VIEW "it's $$ view" IS '$x$ view';
COMMENT ON MATERIALIZED VIEW item_counts IS 'counts';
COMMENT ON DOMAIN quantity IS 'how many';
COMMENT ON TYPE money_amount IS 'an amount';
GRANT UPDATE (qty, "label") ON items TO {role};
GRANT REFERENCES (id) ON booking TO {role};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, UPDATE ON TABLES TO {role} WITH GRANT OPTION;
'''


@pytest.fixture
def role(pg: TestDB) -> Iterator[str]:
    """A role with a quote in its name for the grant and the policy, dropped afterwards."""
    quoted = f'"app\'s ""{uuid.uuid4().hex[:8]}"""'
    with psycopg.connect(url_for("postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {quoted}")
    try:
        yield quoted
    finally:
        pg.execute(f"DROP OWNED BY {quoted}")
        with psycopg.connect(url_for("postgres"), autocommit=True) as conn:
            conn.execute(f"DROP ROLE {quoted}")


def _managed(url: str):  # type: ignore[no-untyped-def]
    """The database's schema as the engine compares it, without the facts that are not schema (with the comments,
    which the values hold apart from their equality)."""
    from schemasync.diff.comments import commented, key_of
    from schemasync.schema.inspect import inspect

    with psycopg.connect(url) as conn:
        value = inspect(conn, schemas=["public"])
    return (
        sorted((key_of(v), v.comment) for v in commented(value) if v.comment is not None),
        tuple(t for t in value.tables if t.name not in ("schema_versions", "schema_snapshots")),
        value.views,
        value.extensions,
        value.domains,
        value.composites,
        value.routines,
        value.triggers,
        value.row_security,
        value.policies,
        # our own tables, created after the default privileges in one database and before them in the other
        tuple(g for g in value.grants if g.name not in ("schema_versions", "schema_snapshots")),
        value.default_privileges,
        value.ranges,
    )


def test_introspect_writes_back_every_kind_the_engine_manages(cli, pg: TestDB, role: str) -> None:  # type: ignore[no-untyped-def]
    """database -> introspect -> models: `check` against the same database is in sync, and syncing the models
    into an empty database builds the same schema (so nothing was dropped on the way and merely left alone)."""
    from tests.conftest import drop_database, make_database

    pg.execute(EVERY_KIND.replace("{role}", role))
    env = {"DATABASE_URL": pg.url}
    written = cli("introspect", "--output", "generated.py", env=env)
    assert written.code == 0, written.output
    source = (cli.project / "generated.py").read_text()
    tree = ast.parse(source)
    ddl = [n.args[0].value for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "DDL"]
    assert [t.split(" VERSION ")[0] for t in ddl if "EXTENSION" in t] == [
        'CREATE EXTENSION IF NOT EXISTS "btree_gist"',
        'CREATE EXTENSION IF NOT EXISTS "citext"',
    ]
    assert any(t.startswith('CREATE DOMAIN "quantity" AS integer DEFAULT 1 NOT NULL') for t in ddl)
    assert any(t.startswith('CREATE TYPE "money_amount" AS') for t in ddl)
    assert 'CREATE TABLE "events_default" PARTITION OF "events" DEFAULT' in ddl
    assert any("'a $$ b %%s '' c $x$'" in t for t in ddl)  # % doubled for DDL's own formatting
    for declared in (
        "DOMAIN('quantity', INTEGER, create_type=False)",
        "MoneyAmountType()",
        "ExcludeConstraint(('room', '='), ('during', '&&'), name='no \"double\" booking', using='gist'",
        "ExcludeConstraint(('room', '='), ('during', '&&'), name='slots_no_overlap', using='gist', deferrable=True)",
        "{'prefixes': ['UNLOGGED']}",
        "'postgresql_with': {'autovacuum_enabled': 'false', 'fillfactor': '70'}",
        "postgresql_with={'fillfactor': '60'}",
        "'postgresql_partition_by': 'RANGE (created_at)'",
    ):
        assert declared in source, declared + "\n" + source
    assert "class Events25" not in source and "class EventsDefault" not in source  # partitions are events
    assert any("'100%%%% of $$ and '' in %%'" in t for t in ddl)  # the body verbatim, each % doubled once
    position = {
        key: next(i for i, t in enumerate(ddl) if t.startswith(key))
        for key in (
            'CREATE OR REPLACE FUNCTION public."it\'s ""touch"""()',
            "CREATE OR REPLACE FUNCTION public.item_total(",
            "CREATE OR REPLACE FUNCTION public.doubled(",
            "CREATE OR REPLACE PROCEDURE public.purge_cache(",
            'CREATE VIEW "public"."it\'s $$ view"',
            'CREATE TRIGGER "items\' touch"',
            'ALTER TABLE "public"."items" ENABLE ROW LEVEL SECURITY',
            'ALTER TABLE "public"."items" FORCE ROW LEVEL SECURITY',
            'CREATE POLICY "small\'s"',
            'GRANT EXECUTE ON FUNCTION "public"."doubled"(integer)',
            'GRANT SELECT ON TABLE "public"."it\'s $$ view"',
        )
    }
    order = sorted(position, key=position.__getitem__)
    assert order.index("CREATE OR REPLACE FUNCTION public.item_total(") < order.index(
        "CREATE OR REPLACE FUNCTION public.doubled("
    )  # doubled's SQL body calls item_total
    functions_first = [k for k in order if "FUNCTION public." in k or "PROCEDURE" in k]
    assert order[: len(functions_first)] == functions_first  # then the views, triggers, policies and grants
    assert order.index('CREATE TRIGGER "items\' touch"') < order.index('CREATE POLICY "small\'s"')
    assert order[-2:] == sorted(order[-2:]) and all(k.startswith("GRANT") for k in order[-2:])
    assert any(t.startswith('GRANT UPDATE ("label") ON TABLE "public"."items"') for t in ddl)  # column privileges
    assert 'ALTER DEFAULT PRIVILEGES IN SCHEMA "public" GRANT SELECT ON TABLES TO' in source.replace("%%", "%")
    assert 'CREATE TYPE "public"."it\'s range" AS RANGE (SUBTYPE = double precision, SUBTYPE_DIFF = float8mi)' in ddl
    assert any(t.startswith('CREATE CONSTRAINT TRIGGER "items\' later" AFTER UPDATE') for t in ddl)
    assert all("event.listen(Base.metadata" in line for line in source.splitlines() if "GRANT " in line)

    check = cli("check", "--models", "generated:Base", env=env)
    assert check.code == 0, check.output + source
    assert "In sync" in check.stdout and "Left alone" not in check.output

    empty = make_database()
    try:
        synced = cli(
            "sync",
            "--yes",
            "--app-version",
            "1.0.0",
            "--models",
            "generated:Base",
            env={"DATABASE_URL": url_for(empty)},
        )
        assert synced.code == 0, synced.output
        assert _managed(url_for(empty)) == _managed(pg.url)
    finally:
        drop_database(empty)


# Functions the tables need before they exist (a default, a CHECK, an index expression, a default whose SQL
# function reads another table, a domain's CHECK, an index calling a function of the domain), a SQL function reading a view, a view calling that function and a
# SQL-standard function reading that view: each must be written, and synced, in dependency order.
ORDERED = r'''
CREATE FUNCTION public.next_code() RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN 'C-' || md5(random()::text); END $$;
CREATE FUNCTION "is ""ok"" $$"(v integer) RETURNS boolean LANGUAGE sql IMMUTABLE RETURN v > 0;
CREATE FUNCTION "norm'd"(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(t) $$;
CREATE FUNCTION "norm'd twice"(t text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT "norm''d"("norm''d"(t))';
CREATE FUNCTION "ok mail"(t text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT t LIKE '%@%' $$;
CREATE DOMAIN "e-mail" AS text CONSTRAINT "e-mail ok" CHECK ("ok mail"(VALUE));
CREATE FUNCTION "domain of"(m "e-mail") RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT lower(m)';
CREATE TABLE "zz code's source" (prefix text);
CREATE FUNCTION "prefix of"() RETURNS text LANGUAGE sql STABLE
    AS $b$ SELECT coalesce(max(prefix), '$$') FROM "zz code's source" $b$;
CREATE TABLE "it's items" (
    id integer PRIMARY KEY,
    code text NOT NULL DEFAULT public.next_code(),
    label text DEFAULT "prefix of"(),
    qty integer CONSTRAINT "qty ""ok""" CHECK ("is ""ok"" $$"(qty)),
    name text,
    mail "e-mail"
);
CREATE INDEX "items by norm'd name" ON "it's items" ("norm'd twice"(name));
CREATE INDEX "items by mail" ON "it's items" ("domain of"(mail));
CREATE VIEW "a view" AS SELECT id, name FROM "it's items";
CREATE FUNCTION "reads view"() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM "a view" $$;
CREATE VIEW "calls fn" AS SELECT "reads view"() AS n;
CREATE FUNCTION "a std reads"() RETURNS bigint LANGUAGE sql STABLE BEGIN ATOMIC SELECT n FROM "calls fn"; END;
'''


def test_introspect_orders_routines_tables_and_views_by_their_dependencies(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    """The written models create each routine before the tables and views that use it and after what its body
    reads: `create_all` of them (in a fresh process) and `sync` from empty both build the original schema, as
    pg_dump prints it, and `check` against the original is in sync."""
    from tests.conftest import drop_database, make_database
    from tests.engine.test_pg_dump_equal import schema_dump

    pg.execute(ORDERED)
    env = {"DATABASE_URL": pg.url}
    written = cli("introspect", "--output", "generated.py", env=env)
    assert written.code == 0, written.output
    source = (cli.project / "generated.py").read_text()
    check = cli("check", "--models", "generated:Base", env=env)
    assert check.code == 0, check.output + source
    assert "In sync" in check.stdout and "Left alone" not in check.output

    created, synced = make_database(), make_database()
    try:
        script = (
            "import sys, sqlalchemy as sa, generated; generated.Base.metadata.create_all(sa.create_engine(sys.argv[1]))"
        )
        url = url_for(created).replace("postgresql://", "postgresql+psycopg://", 1)
        made = subprocess.run(
            [sys.executable, "-c", script, url], cwd=cli.project, capture_output=True, text=True, check=False
        )
        assert made.returncode == 0, made.stderr + source
        result = cli(
            "sync",
            "--yes",
            "--app-version",
            "1.0.0",
            "--models",
            "generated:Base",
            env={"DATABASE_URL": url_for(synced)},
        )
        assert result.code == 0, result.output + source
        original = schema_dump(pg)
        assert schema_dump(TestDB(created, url_for(created))) == original
        assert schema_dump(TestDB(synced, url_for(synced))) == original, source
    finally:
        drop_database(created)
        drop_database(synced)
