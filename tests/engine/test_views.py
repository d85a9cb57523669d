"""Views and materialized views as managed objects (issue 17): created, changed, left alone, pruned,
re-created around a column change they depend on, with data kept; SQLAlchemy's CreateView and DDL events."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import DDL, event
from sqlalchemy.sql.ddl import CreateView

from tests.conftest import TestDB
from tests.engine.schema_helpers import create_all
from tests.engine.sync_helpers import live, prepare, rediff, same_as_models, still_differs, sync
from tests.engine.test_pg_dump_equal import schema_dump, twin  # noqa: F401  (fixture)


def _models(
    *,
    amount: sa.types.TypeEngine = sa.Integer(),
    extra: bool = False,
    where: int = 0,
    index: bool = True,
    in_list: bool = True,
) -> sa.MetaData:
    """app.orders; a view on it, a view on that view, a materialized view (with an index) on the first view."""
    md = sa.MetaData()
    orders = sa.Table(
        "orders",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("amount", amount, nullable=False),
        schema="app",
    )
    columns = [orders.c.id, orders.c.status, orders.c.amount]
    if extra:
        columns.append((orders.c.amount * 2).label("double"))
    paid = CreateView(
        sa.select(*columns).where(
            orders.c.status.in_(["paid", "shipped"]) if in_list else orders.c.status != "new", orders.c.amount > where
        ),
        "paid_orders",
        metadata=md,
        schema="app",
    )
    big = CreateView(
        sa.select(paid.table.c.id, paid.table.c.amount).where(paid.table.c.amount > 100), "big_paid", metadata=md
    )
    totals = CreateView(
        sa.select(paid.table.c.status, sa.func.sum(paid.table.c.amount).label("total")).group_by(paid.table.c.status),
        "totals",
        metadata=md,
        schema="app",
        materialized=True,
    )
    if index:
        sa.Index("ix_totals_status", totals.table.c.status, unique=True)
    assert big is not None
    return md


def _fill(pg: TestDB) -> None:
    pg.execute(
        "INSERT INTO app.orders (status, amount) VALUES ('paid', 50), ('paid', 150), ('shipped', 200), ('new', 999)"
    )


def test_views_created_from_empty_converge_and_dump_like_create_all(pg: TestDB, twin: TestDB) -> None:  # noqa: F811
    # PostgreSQL prints an IN list in a form that re-parses differently (issue 14): the plan creates the view
    # from the printed form, equal in normal form (the next test), but pg_dump would print it differently.
    md = _models(in_list=False)
    create_all(pg, md, schemas=("app",))
    with twin.connect() as conn:
        conn.execute("CREATE SCHEMA app")
    prepared, applied = sync(twin, md)
    assert applied is not None
    kinds = [type(c).__name__ for c in prepared.diff.changes]
    assert kinds.count("CreateView") == 3
    assert still_differs(twin, md) == []
    database, models = same_as_models(twin, md)
    assert database.views == models.views and len(database.views) == 3
    assert schema_dump(twin) == schema_dump(pg)
    check = prepare(twin, md)
    assert check.plan.empty and not check.desired.unmanaged_declared


def test_compatible_change_is_replaced_in_place_and_incompatible_one_rebuilds_dependents(pg: TestDB) -> None:
    sync(pg, _models())
    _fill(pg)
    prepared, _ = sync(pg, _models(extra=True))  # a column added at the end: CREATE OR REPLACE VIEW
    sql = prepared.plan.sql()
    assert "CREATE OR REPLACE VIEW" in sql and "DROP VIEW" not in sql
    assert still_differs(pg, _models(extra=True)) == []
    assert pg.scalar("SELECT double FROM app.paid_orders WHERE id = 2") == 300
    prepared, _ = sync(pg, _models(where=60))  # a column removed: drop and re-create, dependents too
    sql = prepared.plan.sql()
    assert 'DROP VIEW "app"."paid_orders"' in sql and 'DROP VIEW "public"."big_paid"' in sql
    assert 'DROP MATERIALIZED VIEW "app"."totals"' in sql
    assert sql.index('DROP VIEW "public"."big_paid"') < sql.index('DROP VIEW "app"."paid_orders"')
    assert 'CREATE UNIQUE INDEX "ix_totals_status"' in sql
    assert still_differs(pg, _models(where=60)) == []
    assert pg.scalar("SELECT total FROM app.totals WHERE status = 'paid'") == 150


def test_type_change_under_a_view_chain_keeps_data_and_names_the_dependents(pg: TestDB) -> None:
    sync(pg, _models())
    _fill(pg)
    pg.execute("CREATE VIEW public.hand_made AS SELECT id, amount FROM app.orders")  # the DBA's, not declared
    target = _models(amount=sa.Numeric(12, 2))
    prepared, applied = sync(pg, target)
    assert applied is not None
    hazards = [h.fact for h in prepared.plan.hazards]
    for name in ("app.paid_orders", "big_paid", "app.totals", "hand_made"):
        assert any(name in fact and "re-create" in fact for fact in hazards), name
    assert any(h.kind == "locking" and "materialized view app.totals" in h.fact for h in prepared.plan.hazards)
    assert still_differs(pg, target) == []
    assert pg.scalar("SELECT pg_typeof(amount)::text FROM public.big_paid LIMIT 1") == "numeric"
    assert pg.scalar("SELECT sum(amount) FROM app.orders") == 1399
    assert pg.scalar("SELECT total FROM app.totals WHERE status = 'shipped'") == 200
    assert pg.scalar("SELECT count(*) FROM public.hand_made") == 4  # re-created from its own definition
    assert pg.scalar("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_totals_status'") == 1


def test_unmanaged_view_left_alone_and_pruned(pg: TestDB) -> None:
    md = _models(index=False)
    sync(pg, md)
    pg.execute("CREATE VIEW app.by_hand AS SELECT 1 AS one")
    pg.execute("CREATE INDEX ix_by_hand ON app.totals (total)")
    prepared = prepare(pg, md)
    assert prepared.plan.empty
    left = {(u.kind, u.name) for u in prepared.diff.unmanaged}
    assert ("view", "by_hand") in left and ("index", "ix_by_hand") in left
    sync(pg, md, prune=True)
    names = {v.name for v in live(pg).views}
    assert "by_hand" not in names and "paid_orders" in names
    assert pg.scalar("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_by_hand'") == 0


def test_ddl_event_views_are_managed_and_hostile_names_are_quoted(pg: TestDB) -> None:
    md = sa.MetaData()
    sa.Table("t", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("body", sa.Text))
    event.listen(
        md,
        "after_create",
        DDL("""CREATE VIEW "we""ird view" AS SELECT id, $$it's $x$ ";" $$ || body AS "b;""" + '"' + """ FROM t"""),
    )
    event.listen(md, "after_create", DDL('CREATE MATERIALIZED VIEW mv AS SELECT count(*) AS n FROM "we""ird view"'))
    prepared, applied = sync(pg, md)
    assert applied is not None and not prepared.desired.unmanaged_declared
    assert {v.name for v in live(pg).views} == {'we"ird view', "mv"}
    assert still_differs(pg, md) == []
    pg.execute("INSERT INTO t (body) VALUES ('x')")
    assert pg.scalar('SELECT "b;" FROM "we""ird view"') == """it's $x$ ";" x"""


def test_a_view_postgresql_refuses_is_a_model_error_and_its_live_copy_is_kept(pg: TestDB) -> None:
    md = sa.MetaData()
    sa.Table("t", md, sa.Column("id", sa.Integer, primary_key=True))
    event.listen(md, "after_create", DDL("CREATE VIEW broken AS SELECT no_such_column FROM t"))
    pg.execute("CREATE TABLE t (id serial PRIMARY KEY); CREATE VIEW broken AS SELECT id FROM t")
    prepared = prepare(pg, md, prune=True)
    assert [(e.kind, e.name) for e in prepared.desired.model_errors] == [("view", "broken")]
    assert prepared.plan.empty  # held at its live state: not dropped, even with prune


def test_a_policy_and_a_trigger_on_a_retyped_column_are_recreated_around_it(pg: TestDB) -> None:
    pg.execute(
        "CREATE TABLE docs (id serial PRIMARY KEY, owner integer NOT NULL);"
        "ALTER TABLE docs ENABLE ROW LEVEL SECURITY;"
        "CREATE POLICY own ON docs USING (owner = 1);"
        "CREATE FUNCTION nop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;"
        "CREATE TRIGGER docs_nop BEFORE UPDATE ON docs FOR EACH ROW WHEN (NEW.owner > 0) EXECUTE FUNCTION nop();"
    )
    md = sa.MetaData()
    sa.Table(
        "docs", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("owner", sa.BigInteger, nullable=False)
    )
    prepared, applied = sync(pg, md)
    assert applied is not None
    sql = [s.sql.split(" (")[0] for s in prepared.plan.statements]
    assert set(sql[:2]) == {'DROP TRIGGER "docs_nop" ON "public"."docs"', 'DROP POLICY "own" ON "public"."docs"'}
    assert sql[2].startswith('ALTER TABLE "public"."docs" ALTER COLUMN "owner" TYPE bigint')
    assert sorted(sql[3:]) == [
        'CREATE POLICY "own" ON "public"."docs" AS PERMISSIVE FOR ALL TO PUBLIC USING',
        ("CREATE TRIGGER docs_nop BEFORE UPDATE ON public.docs FOR EACH ROW WHEN"),
    ]
    facts = [h.fact for h in prepared.plan.hazards if h.kind == "correctness"]
    assert any(
        "re-creates it later in this transaction (it uses column docs.owner, which changes type)" in f for f in facts
    ), facts
    with pg.connect() as conn:
        assert conn.execute("SELECT polname, pg_get_expr(polqual, polrelid) FROM pg_policy").fetchall() == [
            ("own", "(owner = 1)")
        ]
        assert conn.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal").fetchall() == [("docs_nop",)]
    assert rediff(pg, md) == []


def test_check_says_in_sync_about_declared_views_through_the_cli(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    root = cli.project
    (root / "pyproject.toml").write_text(
        '[project]\nname = "m"\nversion = "1.0.0"\n\n[tool.schemasync]\nmodels = "viewmodels:metadata"\n'
    )
    (root / "viewmodels.py").write_text(
        "import sqlalchemy as sa\nfrom sqlalchemy.sql.ddl import CreateView\nmetadata = sa.MetaData()\n"
        't = sa.Table("t", metadata, sa.Column("id", sa.Integer, primary_key=True))\n'
        'CreateView(sa.select(t.c.id), "t_ids", metadata=metadata, materialized=True)\n'
    )
    env = {"DATABASE_URL": pg.url}
    synced = cli("sync", "--yes", env=env)
    assert synced.code == 0, synced.output
    assert "new view" in synced.stdout and "materialized view t_ids" in synced.stdout
    check = cli("check", env=env)
    assert check.code == 0 and "In sync" in check.stdout, check.output
    pg.execute("DROP MATERIALIZED VIEW t_ids")
    drifted = cli("check", env=env)
    assert drifted.code == 2 and "t_ids" in drifted.stdout, drifted.output
