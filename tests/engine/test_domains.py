"""Domains (issue 17): SQLAlchemy's `postgresql.DOMAIN` and `CREATE DOMAIN` DDL events, created from an empty
database before the tables that use them, changed in place (default, NOT NULL, checks: once never seen),
recreated for another base type, left alone when hand-made and dropped only with prune."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import DDL, BigInteger, Column, Integer, MetaData, Table, event
from sqlalchemy.dialects.postgresql import DOMAIN
from sqlalchemy.types import UserDefinedType

from tests.conftest import TestDB, drop_database, make_database, url_for
from tests.engine.schema_helpers import create_all
from tests.engine.sync_helpers import prepare, rediff, sync
from tests.engine.test_pg_dump_equal import schema_dump

HOSTILE = 'Odd "Amount"'


def _models(check: str = "VALUE > 0", *, not_null: bool = False, default: str | None = None) -> MetaData:
    metadata = MetaData()
    amount = DOMAIN(HOSTILE, Integer, check=check, not_null=not_null, default=default)
    Table("orders", metadata, Column("id", Integer, primary_key=True), Column("amount", amount))
    return metadata


def _domain(pg: TestDB, name: str = HOSTILE) -> tuple[object, ...]:
    rows = pg.execute(
        "SELECT format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault, "
        "ARRAY(SELECT conname || ' ' || pg_get_constraintdef(c.oid) FROM pg_constraint c WHERE c.contypid = t.oid "
        "ORDER BY 1) FROM pg_type t WHERE t.typname = %s",
        (name,),
    )
    return rows[0] if rows else ()


def test_a_domain_and_the_table_using_it_are_created_from_an_empty_database(pg: TestDB) -> None:
    prepared, _ = sync(pg, _models(not_null=True, default="7"))
    assert not prepared.desired.unmanaged_declared, "a DOMAIN is managed, not unmanaged-declared"
    sql = [s.sql for s in prepared.plan.statements]
    assert sql[0] == (
        'CREATE DOMAIN "public"."Odd ""Amount""" AS integer DEFAULT 7 NOT NULL '
        'CONSTRAINT "Odd ""Amount""_check" CHECK ((VALUE > 0))'
    )
    assert _domain(pg) == ("integer", True, "7", ['Odd "Amount"_check CHECK ((VALUE > 0))'])
    pg.execute("INSERT INTO orders (id) VALUES (1)")
    assert rediff(pg, _models(not_null=True, default="7")) == []


def test_a_changed_check_default_and_not_null_are_altered_with_their_rows_counted(pg: TestDB) -> None:
    sync(pg, _models())
    pg.execute("INSERT INTO orders VALUES (1, 5), (2, 50), (3, NULL)")
    changed = _models("VALUE > 10", not_null=True, default="20")
    prepared = prepare(pg, changed)
    assert [type(x).__name__ for x in prepared.diff.changes] == [
        "AlterDomainDefault",
        "DropDomainCheck",
        "AlterDomainNullability",
        "AddDomainCheck",
    ]
    facts = {h.fact for h in prepared.plan.hazards}
    assert 'orders.amount has 1 row violating check Odd "Amount"_check: fix them first' in facts
    assert "orders.amount has 1 row holding NULL: fill them first" in facts
    pg.execute("UPDATE orders SET amount = 11 WHERE id = 1; UPDATE orders SET amount = 12 WHERE id = 3")
    sync(pg, changed)
    assert _domain(pg) == ("integer", True, "20", ['Odd "Amount"_check CHECK ((VALUE > 10))'])
    assert rediff(pg, changed) == []
    relaxed = _models("VALUE > 10")
    sync(pg, relaxed)
    assert _domain(pg) == ("integer", False, None, ['Odd "Amount"_check CHECK ((VALUE > 10))'])
    assert rediff(pg, relaxed) == []


def test_another_base_type_recreates_the_domain_and_keeps_the_values(pg: TestDB) -> None:
    sync(pg, _models())
    pg.execute("INSERT INTO orders VALUES (1, 5)")
    wider = MetaData()
    amount = DOMAIN(HOSTILE, BigInteger, check="VALUE > 0")
    Table("orders", wider, Column("id", Integer, primary_key=True), Column("amount", amount))
    prepared, _ = sync(pg, wider)
    assert [type(x).__name__ for x in prepared.diff.changes] == ["RecreateDomain"]
    assert _domain(pg)[0] == "bigint"
    assert pg.execute("SELECT amount FROM orders") == [(5,)]
    assert rediff(pg, wider) == []


def test_a_domain_from_a_ddl_event_and_hand_made_ones_left_alone_then_pruned(pg: TestDB) -> None:
    metadata = MetaData()
    event.listen(
        metadata,
        "before_create",
        DDL("CREATE DOMAIN email AS text COLLATE \"C\" CONSTRAINT has_at CHECK (VALUE LIKE '%%@%%')"),
    )
    Table("people", metadata, Column("id", Integer, primary_key=True))
    pg.execute("CREATE DOMAIN hand_made AS int CHECK (VALUE <> 0)")
    prepared, _ = sync(pg, metadata)
    assert not prepared.desired.unmanaged_declared
    assert [(u.kind, u.name) for u in prepared.diff.unmanaged] == [("domain", "hand_made")]
    assert _domain(pg, "email")[3] == ["has_at CHECK ((VALUE ~~ '%@%'::text))"]
    assert rediff(pg, metadata) == []
    pruned, _ = sync(pg, metadata, prune=True)
    assert [s.sql for s in pruned.plan.statements] == ['DROP DOMAIN "public"."hand_made"']
    assert _domain(pg, "hand_made") == ()


@pytest.fixture
def twin() -> Iterator[TestDB]:
    name = make_database()
    try:
        yield TestDB(name, url_for(name))
    finally:
        drop_database(name)


def test_sync_builds_what_create_all_builds_as_pg_dump_prints_it(pg: TestDB, twin: TestDB) -> None:
    create_all(twin, _models(not_null=True, default="7"))
    sync(pg, _models(not_null=True, default="7"))
    dumped = schema_dump(pg)
    assert 'CREATE DOMAIN public."Odd ""Amount"""' in dumped
    assert dumped == schema_dump(twin)


def test_online_a_new_check_is_added_not_valid_and_validated_after_the_commit(pg: TestDB) -> None:
    sync(pg, _models())
    pg.execute("INSERT INTO orders VALUES (1, 5)")
    changed = _models("VALUE > 1")
    prepared, _ = sync(pg, changed, online=True)
    sql = [(s.sql, s.transactional) for s in prepared.plan.statements]
    assert sql[-2:] == [
        (
            'ALTER DOMAIN "public"."Odd ""Amount""" ADD CONSTRAINT "Odd ""Amount""_check" CHECK ((VALUE > 1)) NOT VALID',
            True,
        ),
        ('ALTER DOMAIN "public"."Odd ""Amount""" VALIDATE CONSTRAINT "Odd ""Amount""_check"', False),
    ]
    assert _domain(pg)[3] == ['Odd "Amount"_check CHECK ((VALUE > 1))']
    assert pg.execute("SELECT bool_and(convalidated) FROM pg_constraint WHERE contypid <> 0") == [(True,)]
    assert rediff(pg, changed) == []


def test_a_domain_the_server_refuses_is_held_at_its_live_state_even_with_prune(pg: TestDB) -> None:
    sync(pg, _models())
    broken = _models("VALUE > no_such_function()")
    prepared, _ = sync(pg, broken, prune=True, allow_model_errors=True)
    assert [e.kind for e in prepared.desired.model_errors] == ["domain", "table"]  # the table uses it
    assert not any("DOMAIN" in s.sql for s in prepared.plan.statements)
    assert _domain(pg) == ("integer", False, None, ['Odd "Amount"_check CHECK ((VALUE > 0))'])


class _AppPositive(UserDefinedType):  # type: ignore[type-arg]
    """A column typed by the DDL event's domain, named as the models' text names it: qualified."""

    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "app.positive"


def _app_models(check: str = "VALUE > 0", *, native: bool = False) -> MetaData:
    metadata = MetaData()
    if native:
        amount: object = DOMAIN("positive", Integer, check=check, schema="app")
    else:
        event.listen(metadata, "before_create", DDL(f"CREATE DOMAIN app.positive AS integer CHECK ({check})"))
        amount = _AppPositive()
    Table("orders", metadata, Column("id", Integer, primary_key=True), Column("qty", amount), schema="app")
    return metadata


def _app_domain(pg: TestDB) -> list[tuple[object, ...]]:
    return pg.execute(
        "SELECT n.nspname, pg_get_constraintdef(c.oid), format_type(a.atttypid, a.atttypmod) FROM pg_type t "
        "JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_constraint c ON c.contypid = t.oid "
        "LEFT JOIN pg_attribute a ON a.atttypid = t.oid AND a.attname = 'qty' WHERE t.typname = 'positive'"
    )


@pytest.mark.parametrize("native", [False, True], ids=["ddl-event", "sqlalchemy-domain"])
def test_a_domain_in_another_schema_is_created_checked_clean_and_changed(pg: TestDB, native: bool) -> None:
    prepared, _ = sync(pg, _app_models(native=native))
    assert not prepared.desired.model_errors
    assert _app_domain(pg) == [("app", "CHECK ((VALUE > 0))", "app.positive")]
    assert rediff(pg, _app_models(native=native)) == []
    changed = _app_models("VALUE > 10", native=native)
    assert rediff(pg, changed) == ["DropDomainCheck", "AddDomainCheck"]
    sync(pg, changed)
    assert _app_domain(pg) == [("app", "CHECK ((VALUE > 10))", "app.positive")]
    assert rediff(pg, changed) == []


def test_a_database_that_already_has_the_domain_in_another_schema_checks_clean(pg: TestDB) -> None:
    pg.execute(
        "CREATE SCHEMA app; CREATE DOMAIN app.positive AS integer CHECK (VALUE > 0); "
        "CREATE TABLE app.orders (id serial PRIMARY KEY, qty app.positive)"
    )
    prepared = prepare(pg, _app_models())
    assert not prepared.desired.model_errors
    assert [type(c).__name__ for c in prepared.diff.changes] == []
    assert not prepared.diff.unmanaged
