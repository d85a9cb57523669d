"""Composite types (issue 17): `CREATE TYPE name AS (...)` DDL events, created from an empty database before the
tables that use them, attributes added, dropped and retyped (in place, or by recreating a used type with the
values kept), left alone when hand-made and dropped only with prune."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import DDL, Column, Integer, MetaData, Table, event
from sqlalchemy.types import UserDefinedType

from tests.conftest import TestDB, drop_database, make_database, url_for
from tests.engine.schema_helpers import create_all
from tests.engine.sync_helpers import prepare, rediff, sync
from tests.engine.test_pg_dump_equal import schema_dump


class Address(UserDefinedType):  # type: ignore[type-arg]
    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return '"Post ""Address"""'


def _models(attributes: str, *, used: bool = True) -> MetaData:
    metadata = MetaData()
    event.listen(metadata, "before_create", DDL(f'CREATE TYPE "Post ""Address""" AS ({attributes})'))
    columns = [Column("addr", Address())] if used else []
    Table("people", metadata, Column("id", Integer, primary_key=True), *columns)
    return metadata


def _attributes(pg: TestDB, name: str = 'Post "Address"') -> list[tuple[object, ...]]:
    return pg.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_type t JOIN pg_attribute a "
        "ON a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped WHERE t.typname = %s ORDER BY a.attnum",
        (name,),
    )


V1 = '"street ""no""" text, zip integer'


def test_a_composite_type_and_the_table_using_it_are_created_from_an_empty_database(pg: TestDB) -> None:
    prepared, _ = sync(pg, _models(V1))
    assert not prepared.desired.unmanaged_declared, "CREATE TYPE ... AS (...) is managed, not custom DDL"
    sql = [s.sql for s in prepared.plan.statements]
    assert sql[0] == 'CREATE TYPE "public"."Post ""Address""" AS ("street ""no""" text, "zip" integer)'
    assert _attributes(pg) == [('street "no"', "text"), ("zip", "integer")]
    pg.execute("""INSERT INTO people VALUES (1, ROW('Main St', 1000))""")
    assert rediff(pg, _models(V1)) == []


def test_attributes_added_and_dropped_in_place_and_a_used_one_retyped_by_recreating(pg: TestDB) -> None:
    sync(pg, _models(V1))
    pg.execute("""INSERT INTO people VALUES (1, ROW('Main St', 1000)), (2, NULL)""")
    grown = _models('"street ""no""" text, zip integer, city text')
    prepared, _ = sync(pg, grown)
    assert [s.sql for s in prepared.plan.statements] == [
        'ALTER TYPE "public"."Post ""Address""" ADD ATTRIBUTE "city" text'
    ]
    retyped = _models('"street ""no""" text, zip bigint, city text')
    prepared, _ = sync(pg, retyped)
    assert [type(x).__name__ for x in prepared.diff.changes] == ["RecreateComposite"]
    assert _attributes(pg) == [('street "no"', "text"), ("zip", "bigint"), ("city", "text")]
    assert pg.execute("SELECT id, addr::text FROM people ORDER BY id") == [(1, '("Main St",1000,)'), (2, None)]
    assert rediff(pg, retyped) == []
    shrunk = _models('"street ""no""" text, zip bigint')
    prepared, _ = sync(pg, shrunk)
    assert [h.kind for h in prepared.plan.hazards] == ["deletes_data"]
    assert _attributes(pg) == [('street "no"', "text"), ("zip", "bigint")]
    assert rediff(pg, shrunk) == []


def test_an_unused_type_is_retyped_in_place(pg: TestDB) -> None:
    sync(pg, _models(V1, used=False))
    changed = _models('"street ""no""" varchar(20), zip integer', used=False)
    prepared, _ = sync(pg, changed)
    assert [s.sql for s in prepared.plan.statements] == [
        'ALTER TYPE "public"."Post ""Address""" ALTER ATTRIBUTE "street ""no""" TYPE character varying(20)'
    ]
    assert rediff(pg, changed) == []


def test_hand_made_composite_types_are_left_alone_then_pruned(pg: TestDB) -> None:
    pg.execute("CREATE TYPE hand_made AS (a int)")
    prepared, _ = sync(pg, _models(V1))
    assert [(u.kind, u.name) for u in prepared.diff.unmanaged] == [("composite type", "hand_made")]
    pruned = prepare(pg, _models(V1), prune=True)
    assert [s.sql for s in pruned.plan.statements] == ['DROP TYPE "public"."hand_made"']
    sync(pg, _models(V1), prune=True)
    assert _attributes(pg, "hand_made") == []


@pytest.fixture
def twin() -> Iterator[TestDB]:
    name = make_database()
    try:
        yield TestDB(name, url_for(name))
    finally:
        drop_database(name)


def test_sync_builds_what_create_all_builds_as_pg_dump_prints_it(pg: TestDB, twin: TestDB) -> None:
    create_all(twin, _models(V1))
    sync(pg, _models(V1))
    dumped = schema_dump(pg)
    assert 'CREATE TYPE public."Post ""Address""" AS (' in dumped
    assert dumped == schema_dump(twin)


class _AppMoney(UserDefinedType):  # type: ignore[type-arg]
    """A column typed by the DDL event's composite, named as the models' text names it: qualified."""

    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "app.money_amount"


def _app_models(attributes: str = "amount numeric, currency text") -> MetaData:
    metadata = MetaData()
    event.listen(metadata, "before_create", DDL(f"CREATE TYPE app.money_amount AS ({attributes})"))
    Table("orders", metadata, Column("id", Integer, primary_key=True), Column("total", _AppMoney()), schema="app")
    return metadata


def _app_type(pg: TestDB) -> list[tuple[object, ...]]:
    return pg.execute(
        "SELECT n.nspname, format_type(a.atttypid, a.atttypmod) FROM pg_type t "
        "JOIN pg_namespace n ON n.oid = t.typnamespace "
        "LEFT JOIN pg_attribute a ON a.atttypid = t.oid AND a.attname = 'total' WHERE t.typname = 'money_amount'"
    )


def test_a_composite_type_in_another_schema_is_created_checked_clean_and_changed(pg: TestDB) -> None:
    prepared, _ = sync(pg, _app_models())
    assert not prepared.desired.model_errors
    assert _app_type(pg) == [("app", "app.money_amount")]
    assert _attributes(pg, "money_amount") == [("amount", "numeric"), ("currency", "text")]
    assert rediff(pg, _app_models()) == []
    grown = _app_models("amount numeric, currency text, note text")
    sync(pg, grown)
    assert _attributes(pg, "money_amount")[-1] == ("note", "text")
    assert rediff(pg, grown) == []


def test_a_database_that_already_has_the_composite_type_in_another_schema_checks_clean(pg: TestDB) -> None:
    pg.execute(
        "CREATE SCHEMA app; CREATE TYPE app.money_amount AS (amount numeric, currency text); "
        "CREATE TABLE app.orders (id serial PRIMARY KEY, total app.money_amount)"
    )
    prepared = prepare(pg, _app_models())
    assert not prepared.desired.model_errors
    assert [type(c).__name__ for c in prepared.diff.changes] == []
    assert not prepared.diff.unmanaged
