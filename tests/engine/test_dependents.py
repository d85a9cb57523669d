"""What stands on a column: views, functions with SQL-standard bodies, triggers, policies and defaults calling
them, dropped and re-created around a change under them in the same transaction (issue 17), with data kept.

Each database is built as a migration tool or a DBA would (plain SQL), the models change the column, `sync`
runs, and the catalog (pg_depend, pg_proc, pg_trigger, pg_policy, pg_dump), not our inspector, says what
exists afterwards.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import DDL, event

from tests.conftest import TestDB
from tests.engine.sync_helpers import rediff, sync
from tests.engine.test_pg_dump_equal import schema_dump, twin  # noqa: F401  (fixture)

# orders.amount, and everything PostgreSQL holds against changing its type: a view chain (a view on a view,
# a materialized view with an index), functions with SQL-standard bodies (one reading the column, one the
# table's row type, one calling another), a view, a policy, a trigger and a default calling them, and a
# trigger firing on the column. `{amount}` is the column's type.
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
"""

CATALOG = """
SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
UNION ALL SELECT 'trigger ' || tgname || ': ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
UNION ALL SELECT 'policy ' || polname || ': ' || pg_get_expr(polqual, polrelid) FROM pg_policy
UNION ALL SELECT relkind::text || ' ' || relname FROM pg_class
  WHERE relnamespace = 'public'::regnamespace AND relkind IN ('v', 'm', 'i')
UNION ALL SELECT 'default ' || pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'public.stats'::regclass
  AND adnum = 2
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
    assert any(f.startswith("takes the default of stats.seen off") for f in facts), facts
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
