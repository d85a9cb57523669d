"""What stands on a column: views, functions with SQL-standard bodies, triggers, policies and defaults calling
them, dropped and re-created around a change under them in the same transaction (issue 17), with data kept.

Each database is built as a migration tool or a DBA would (plain SQL), the models change the column, `sync`
runs, and the catalog (pg_depend, pg_proc, pg_trigger, pg_policy, pg_dump), not our inspector, says what
exists afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import DDL, event

from tests.conftest import TestDB
from tests.engine.sync_helpers import rediff, sync
from tests.engine.test_pg_dump_equal import schema_dump, twin  # noqa: F401  (fixture)

# orders.amount, and everything PostgreSQL holds against changing its type: a view chain (a view on a view,
# a materialized view with an index), functions with SQL-standard bodies (one reading the column, one the
# table's row type, two calling another), a view, a policy, a trigger, a default, a CHECK and an index calling
# them, and a trigger firing on the column. `{amount}` is the column's type.
CHAIN = """
CREATE TABLE public.orders (id serial PRIMARY KEY, status text NOT NULL, amount {amount} NOT NULL);
INSERT INTO public.orders (status, amount) VALUES ('paid', 50), ('paid', 150.25), ('new', 5);
CREATE VIEW public.paid AS SELECT id, status, amount FROM public.orders WHERE status <> 'new';
CREATE VIEW public.big_paid AS SELECT id, amount FROM public.paid WHERE amount > 100;
CREATE MATERIALIZED VIEW public.totals AS SELECT status, sum(amount) AS total FROM public.paid GROUP BY status;
CREATE UNIQUE INDEX totals_status ON public.totals (status);
CREATE FUNCTION public.total_amount() RETURNS numeric LANGUAGE sql STABLE
  BEGIN ATOMIC SELECT sum(amount) FROM public.orders; END;
CREATE FUNCTION public.doubled(o public.orders) RETURNS numeric LANGUAGE sql IMMUTABLE RETURN o.amount * 2;
CREATE FUNCTION public.over_total(x numeric) RETURNS boolean LANGUAGE sql STABLE RETURN x > public.total_amount();
CREATE FUNCTION public.amount_text(o public.orders) RETURNS text LANGUAGE plpgsql AS $$BEGIN RETURN o.amount::text; END$$;
CREATE VIEW public.with_total AS SELECT id, public.total_amount() AS total FROM public.orders;
CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER amount_changed BEFORE UPDATE OF amount ON public.orders
  FOR EACH ROW WHEN (NEW.amount > 0) EXECUTE FUNCTION public.touch();
ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY small ON public.orders USING (amount < 1000000 AND NOT public.over_total(amount));
CREATE TABLE public.stats (id serial PRIMARY KEY, seen numeric DEFAULT public.total_amount());
CREATE FUNCTION public.share(x numeric) RETURNS numeric LANGUAGE sql IMMUTABLE RETURN x / public.total_amount();
ALTER TABLE public.stats ADD CONSTRAINT seen_sane CHECK (seen IS NULL OR seen <= public.total_amount() * 10);
CREATE INDEX stats_share ON public.stats (public.share(seen));
"""

CATALOG = """
SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
UNION ALL SELECT 'trigger ' || tgname || ': ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
UNION ALL SELECT 'policy ' || polname || ': ' || pg_get_expr(polqual, polrelid) FROM pg_policy
UNION ALL SELECT relkind::text || ' ' || relname FROM pg_class
  WHERE relnamespace = 'public'::regnamespace AND relkind IN ('v', 'm', 'i')
UNION ALL SELECT 'default ' || pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'public.stats'::regclass
  AND adnum = 2
UNION ALL SELECT 'check ' || conname || ': ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'c'
ORDER BY 1
"""


def _orders(amount: sa.types.TypeEngine) -> sa.MetaData:
    md = sa.MetaData()
    sa.Table(
        "orders",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("amount", amount, nullable=False),
    )
    sa.Table("stats", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("seen", sa.Numeric))
    return md


def test_a_type_change_under_a_chain_of_dependents_re_creates_them_all_as_pg_dump_sees_them(
    pg: TestDB,
    twin: TestDB,  # noqa: F811 (fixture)
) -> None:
    pg.execute(CHAIN.format(amount="numeric(10,2)"))
    twin.execute(CHAIN.format(amount="numeric(14,2)"))  # what the database must look like afterwards
    before = pg.execute(CATALOG)
    md = _orders(sa.Numeric(14, 2))
    md.tables["stats"].c.seen.server_default = sa.DefaultClause(sa.text("total_amount()"))
    prepared, applied = sync(pg, md)
    assert applied is not None
    sql = "\n".join(s.sql for s in prepared.plan.statements)
    assert "CASCADE" not in sql
    assert pg.execute(CATALOG) == before
    assert pg.execute(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'public.orders'::regclass AND attname = 'amount'"
    ) == [("numeric(14,2)",)]
    assert schema_dump(pg) == schema_dump(twin)
    assert pg.execute("SELECT status, total::text FROM totals ORDER BY 1") == [("paid", "200.25")]
    assert pg.execute("SELECT total_amount()::text, doubled(o)::text FROM orders o WHERE id = 2") == [
        ("205.25", "300.50")
    ]
    facts = [h.fact for h in prepared.plan.hazards]
    for name in (
        "function public.total_amount()",
        "function public.doubled(public.orders)",
        "function public.over_total(numeric)",
    ):
        assert any(f.startswith(f"drops {name} and re-creates it later") for f in facts), (name, facts)
    assert any("drops trigger amount_changed on public.orders and re-creates it" in f for f in facts), facts
    assert any("drops policy small on public.orders and re-creates it" in f for f in facts), facts
    assert any("drops view with_total and re-creates it later" in f for f in facts), facts
    assert any(f.startswith("takes the default of stats.seen off") and "it is put back later" in f for f in facts)
    assert any(f.startswith("drops check seen_sane on stats and adds it again later") for f in facts), facts
    assert any(f.startswith("drops index stats_share on stats and builds it again later") for f in facts), facts
    assert any(  # a string body: PostgreSQL lets the change through, the plan says so
        f.startswith("function amount_text(public.orders) takes or returns the row type of orders") for f in facts
    ), facts
    assert rediff(pg, md) == []


def test_dropping_a_column_drops_what_uses_it_first_and_re_creates_what_the_models_still_declare(pg: TestDB) -> None:
    pg.execute(
        "CREATE TABLE docs (id serial PRIMARY KEY, owner integer NOT NULL, note text);"
        "INSERT INTO docs (owner, note) VALUES (1, 'a'), (2, 'b');"
        "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;"
        "CREATE TRIGGER docs_touch BEFORE UPDATE OF owner, note ON docs FOR EACH ROW EXECUTE FUNCTION touch();"
        "CREATE TRIGGER note_set BEFORE INSERT ON docs FOR EACH ROW WHEN (NEW.note IS NOT NULL) EXECUTE FUNCTION touch();"
        "ALTER TABLE docs ENABLE ROW LEVEL SECURITY;"
        "CREATE POLICY own ON docs USING (owner = 1);"
        "CREATE POLICY noted ON docs USING (note IS NOT NULL);"
        "CREATE VIEW notes AS SELECT id, note FROM docs;"
        "CREATE VIEW owners AS SELECT id, owner FROM docs;"
        "CREATE FUNCTION note_count() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(note) FROM public.docs; END;"
    )
    md = sa.MetaData()
    sa.Table("docs", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("owner", sa.Integer, nullable=False))
    for ddl in (
        "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$",
        "CREATE TRIGGER docs_touch BEFORE UPDATE OF owner ON docs FOR EACH ROW EXECUTE FUNCTION touch()",
        "ALTER TABLE docs ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY own ON docs USING (owner = 1)",
        "CREATE VIEW owners AS SELECT id, owner FROM docs",
    ):
        event.listen(md, "after_create", DDL(ddl))
    prepared, applied = sync(pg, md, prune=True)  # a column is dropped only with prune
    sql = [s.sql for s in prepared.plan.statements]
    assert not any("CASCADE" in s for s in sql), sql
    drop_column = next(i for i, s in enumerate(sql) if 'DROP COLUMN "note"' in s)
    for what in (
        'DROP TRIGGER "docs_touch"',
        'DROP TRIGGER "note_set"',
        'DROP POLICY "noted"',
        'DROP VIEW "public"."notes"',
        'DROP FUNCTION "public"."note_count"()',
    ):
        assert any(s.startswith(what) for s in sql[:drop_column]), (what, sql)
    assert applied is not None
    assert pg.execute("SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1") == [
        (
            "docs_touch",
            "CREATE TRIGGER docs_touch BEFORE UPDATE OF owner ON public.docs FOR EACH ROW EXECUTE FUNCTION touch()",
        )
    ]
    assert pg.execute("SELECT polname FROM pg_policy ORDER BY 1") == [("own",)]
    assert pg.execute(
        "SELECT relname FROM pg_class WHERE relkind = 'v' AND relnamespace = 'public'::regnamespace ORDER BY 1"
    ) == [("owners",)]
    assert pg.execute("SELECT count(*) FROM pg_proc WHERE proname = 'note_count'") == [(0,)]
    assert pg.execute("SELECT id, owner FROM docs ORDER BY 1") == [(1, 1), (2, 2)]
    facts = [h.fact for h in prepared.plan.hazards]
    print("\n".join(facts))
    assert "drops view notes, which the models do not declare: queries using it fail afterwards" in facts
    for lost in ("trigger note_set", "policy noted", "function public.note_count()"):
        assert any(lost in f and "so it is not re-created" in f for f in facts), (lost, facts)
    assert any("drops trigger docs_touch on public.docs and re-creates it later" in f for f in facts), facts
    assert rediff(pg, md) == []


@pytest.fixture
def dba(pg: TestDB) -> Iterator[str]:
    """A role the models never name (roles belong to the whole cluster: a unique one, dropped afterwards)."""
    name = f"dba_{uuid.uuid4().hex[:8]}"
    pg.execute(f"CREATE ROLE {name}")
    try:
        yield name
    finally:
        pg.execute(f"DROP OWNED BY {name}")
        pg.execute(f"DROP ROLE {name}")


HAND_MADE = """
CREATE TABLE public.items (id serial PRIMARY KEY, name text NOT NULL, price numeric(10,2) NOT NULL);
INSERT INTO public.items (name, price) VALUES ('pen', 2), ('pen', 3), ('lamp', 40);
CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE VIEW public.cheap AS SELECT id, name, price FROM public.items WHERE price < 10;
COMMENT ON VIEW public.cheap IS 'under ten';
GRANT SELECT ON public.cheap TO {dba};
CREATE FUNCTION public.cheap_insert() RETURNS trigger LANGUAGE plpgsql
  AS $$BEGIN INSERT INTO public.items (name, price) VALUES (NEW.name, NEW.price); RETURN NEW; END$$;
CREATE TRIGGER cheap_insert INSTEAD OF INSERT ON public.cheap FOR EACH ROW EXECUTE FUNCTION public.cheap_insert();
COMMENT ON TRIGGER cheap_insert ON public.cheap IS 'writes through';
CREATE MATERIALIZED VIEW public.by_name AS SELECT name, sum(price) AS total FROM public.items GROUP BY name;
CREATE UNIQUE INDEX by_name_name ON public.by_name (name);
CREATE INDEX by_name_total ON public.by_name (total);
COMMENT ON MATERIALIZED VIEW public.by_name IS 'totals';
GRANT SELECT ON public.by_name TO {dba};
CREATE FUNCTION public.price_of(i integer) RETURNS numeric LANGUAGE sql STABLE
  BEGIN ATOMIC SELECT price FROM public.items WHERE id = i; END;
COMMENT ON FUNCTION public.price_of(integer) IS 'by id';
GRANT EXECUTE ON FUNCTION public.price_of(integer) TO {dba};
REVOKE EXECUTE ON FUNCTION public.price_of(integer) FROM PUBLIC;
ALTER TABLE public.items ENABLE ROW LEVEL SECURITY;
CREATE POLICY positive ON public.items USING (price > 0);
COMMENT ON POLICY positive ON public.items IS 'no freebies';
CREATE TRIGGER price_changed BEFORE UPDATE OF price ON public.items FOR EACH ROW EXECUTE FUNCTION public.touch();
COMMENT ON TRIGGER price_changed ON public.items IS 'audit';
"""

KEPT = """
SELECT 'comment ' || d.description FROM pg_description d WHERE d.objoid IN (
  'public.cheap'::regclass, 'public.by_name'::regclass, 'public.price_of(integer)'::regprocedure,
  (SELECT oid FROM pg_trigger WHERE tgname IN ('cheap_insert')), (SELECT oid FROM pg_trigger WHERE tgname = 'price_changed'),
  (SELECT oid FROM pg_policy WHERE polname = 'positive'))
UNION ALL SELECT 'index ' || indexname FROM pg_indexes WHERE tablename = 'by_name'
UNION ALL SELECT 'trigger ' || tgrelid::regclass::text || ' ' || tgname FROM pg_trigger WHERE NOT tgisinternal
UNION ALL SELECT 'policy ' || polname FROM pg_policy
UNION ALL SELECT 'privileges ' || relname || ' ' || array_to_string(relacl, ',') FROM pg_class
  WHERE relname IN ('cheap', 'by_name')
UNION ALL SELECT 'privileges ' || proname || ' ' || array_to_string(proacl, ',') FROM pg_proc WHERE proname = 'price_of'
ORDER BY 1
"""


def test_a_rebuild_keeps_what_the_operator_made_by_hand_on_its_dependents(pg: TestDB, dba: str) -> None:
    pg.execute(HAND_MADE.replace("{dba}", dba))
    before = pg.execute(KEPT)
    md = sa.MetaData()
    sa.Table(
        "items",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("price", sa.Numeric(14, 2), nullable=False),
    )
    for ddl in (  # by_name is declared (one of its indexes only); cheap, price_of and the rest are not
        "CREATE MATERIALIZED VIEW by_name AS SELECT name, sum(price) AS total FROM items GROUP BY name",
        "CREATE UNIQUE INDEX by_name_name ON by_name (name)",
    ):
        event.listen(md, "after_create", DDL(ddl))
    prepared, applied = sync(pg, md)
    assert applied is not None
    assert not any("CASCADE" in s.sql for s in prepared.plan.statements)
    assert pg.execute(KEPT) == before
    assert len(before) == 14, before  # 6 comments, 2 indexes, 2 triggers, 1 policy, 3 privilege lists
    pg.execute("INSERT INTO cheap (name, price) VALUES ('clip', 1)")  # the INSTEAD OF trigger works
    assert pg.execute("SELECT name, total::text FROM by_name ORDER BY 1") == [("lamp", "40.00"), ("pen", "5.00")]
    with pg.connect() as conn:
        conn.execute(f"SET ROLE {dba}")
        assert conn.execute("SELECT count(*) FROM cheap").fetchone() == (3,)
    assert rediff(pg, md) == []


def test_a_routine_dropped_and_created_for_a_new_signature_keeps_its_privileges_and_comment(
    pg: TestDB, dba: str
) -> None:
    pg.execute(
        "CREATE FUNCTION public.answer() RETURNS integer LANGUAGE sql RETURN 42;"
        "COMMENT ON FUNCTION public.answer() IS 'the answer';"
        "REVOKE EXECUTE ON FUNCTION public.answer() FROM PUBLIC;"
        f"GRANT EXECUTE ON FUNCTION public.answer() TO {dba};"
    )
    acl = "SELECT array_to_string(proacl, ','), obj_description(oid, 'pg_proc') FROM pg_proc WHERE proname = 'answer'"
    before = pg.execute(acl)
    md = sa.MetaData()
    sa.Table("t", md, sa.Column("id", sa.Integer, primary_key=True))
    event.listen(md, "after_create", DDL("CREATE FUNCTION public.answer() RETURNS bigint LANGUAGE sql RETURN 42"))
    prepared, applied = sync(pg, md)
    assert applied is not None
    assert any(s.sql.startswith('DROP FUNCTION "public"."answer"()') for s in prepared.plan.statements)
    assert pg.execute(acl) == before
    assert pg.execute("SELECT pg_get_function_result('public.answer()'::regprocedure)") == [("bigint",)]
    assert rediff(pg, md) == []


def test_a_procedure_and_a_function_in_another_schema_are_re_created_and_a_dropped_tables_users_go_first(
    pg: TestDB,
) -> None:
    pg.execute(
        "CREATE SCHEMA reports;"
        "CREATE TABLE public.events (id serial PRIMARY KEY, weight integer NOT NULL);"
        "CREATE TABLE public.scratch (id serial PRIMARY KEY, v integer);"
        "INSERT INTO public.events (weight) VALUES (3), (4);"
        "CREATE FUNCTION reports.heaviest() RETURNS integer LANGUAGE sql STABLE "
        "  BEGIN ATOMIC SELECT max(weight) FROM public.events; END;"
        "CREATE PROCEDURE public.bump() LANGUAGE sql BEGIN ATOMIC UPDATE public.events SET weight = weight + 1; END;"
        "CREATE FUNCTION public.scratch_size() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(v) FROM public.scratch; END;"
    )
    md = sa.MetaData()
    sa.Table(
        "events", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("weight", sa.BigInteger, nullable=False)
    )
    event.listen(md, "after_create", DDL("CREATE SCHEMA IF NOT EXISTS reports"))
    event.listen(
        md,
        "after_create",
        DDL(
            "CREATE FUNCTION reports.heaviest() RETURNS integer LANGUAGE sql STABLE"
            " BEGIN ATOMIC SELECT max(weight) FROM public.events; END"
        ),
    )
    event.listen(
        md,
        "after_create",
        DDL(
            "CREATE PROCEDURE public.bump() LANGUAGE sql BEGIN ATOMIC UPDATE public.events SET weight = weight + 1; END"
        ),
    )
    prepared, applied = sync(pg, md, prune=True)  # scratch is dropped (prune), and scratch_size with it
    assert applied is not None
    sql = [s.sql for s in prepared.plan.statements]
    assert not any("CASCADE" in s for s in sql), sql
    assert sql.index('DROP FUNCTION "public"."scratch_size"()') < sql.index('DROP TABLE "public"."scratch"')
    pg.execute("CALL public.bump()")
    assert pg.execute("SELECT reports.heaviest()") == [(5,)]
    assert pg.execute(
        "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname IN ('public', 'reports') ORDER BY 1"
    ) == [("bump()",), ("reports.heaviest()",)]
    assert pg.execute(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'events'::regclass AND attname = 'weight'"
    ) == [("bigint",)]
    assert rediff(pg, md, prune=True) == []


def test_a_function_and_a_policy_reading_a_rebuilt_view_are_dropped_before_it_and_re_created_after(pg: TestDB) -> None:
    pg.execute(
        "CREATE TABLE public.t (id serial PRIMARY KEY, v integer NOT NULL);"
        "INSERT INTO public.t (v) VALUES (5), (50);"
        "CREATE VIEW public.big AS SELECT id, v FROM public.t WHERE v > 10;"
        "CREATE FUNCTION public.big_count() RETURNS bigint LANGUAGE sql STABLE"
        "  BEGIN ATOMIC SELECT count(*) FROM public.big; END;"
        "CREATE VIEW public.summary AS SELECT public.big_count() AS n;"
        "ALTER TABLE public.t ENABLE ROW LEVEL SECURITY;"
        "CREATE POLICY only_big ON public.t USING (id IN (SELECT id FROM public.big) OR public.big_count() > 100);"
    )
    before = pg.execute(CATALOG.replace("public.stats", "public.t"))
    md = sa.MetaData()
    sa.Table("t", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("v", sa.BigInteger, nullable=False))
    prepared, applied = sync(pg, md)
    assert applied is not None
    assert not any("CASCADE" in s.sql for s in prepared.plan.statements)
    assert pg.execute(CATALOG.replace("public.stats", "public.t")) == before
    assert pg.execute("SELECT n FROM public.summary") == [(1,)]
    assert rediff(pg, md) == []
