"""Issue 17, table properties: EXCLUDE constraints, UNLOGGED / LOGGED, storage parameters of tables and indexes.

Each is created from an empty database, changed, and checked by an independent look (`pg_dump
--schema-only` of a `create_all` twin); a hand-made one the models do not declare is left alone, and
dropped or reset with prune.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Column, Index, Integer, MetaData, Table, Text, text
from sqlalchemy.dialects.postgresql import INT4RANGE, TSRANGE, ExcludeConstraint

from schemasync.plan import HazardKind
from tests.conftest import TestDB, drop_database, make_database, url_for
from tests.engine.schema_helpers import create_all
from tests.engine.sync_helpers import live, prepare, rediff, sync
from tests.engine.test_pg_dump_equal import schema_dump


@pytest.fixture
def twin() -> Iterator[TestDB]:
    name = make_database()
    try:
        yield TestDB(name, url_for(name))
    finally:
        drop_database(name)


HOSTILE = 'no "double" booking'


def bookings(
    *,
    exclusion: str | None = "&&",
    where: str | None = None,
    unlogged: bool = False,
    fillfactor: int | None = None,
    index_fillfactor: int | None = None,
) -> MetaData:
    metadata = MetaData()
    items: list[object] = [
        Column("id", Integer, primary_key=True),
        Column("room", INT4RANGE, nullable=False),
        Column("during", TSRANGE, nullable=False),
        Column("note", Text),
    ]
    if exclusion is not None:
        items.append(
            ExcludeConstraint(
                ("room", exclusion), ("during", "&&"), name=HOSTILE, using="gist", where=text(where) if where else None
            )
        )
    kw: dict[str, object] = {}
    if unlogged:
        kw["prefixes"] = ["UNLOGGED"]
    if fillfactor is not None:
        kw["postgresql_with"] = {"fillfactor": fillfactor}
    table = Table("booking", metadata, *items, **kw)  # type: ignore[arg-type]
    index_kw = {"postgresql_with": {"fillfactor": index_fillfactor}} if index_fillfactor is not None else {}
    Index("ix_booking_note", table.c.note, **index_kw)  # type: ignore[arg-type]
    return metadata


def _dump_equal(pg: TestDB, twin: TestDB, metadata: MetaData) -> None:
    """`sync` from what `pg` holds and `create_all` in an empty twin dump the same schema."""
    create_all(twin, metadata)
    assert schema_dump(pg) == schema_dump(twin)


def test_every_property_is_created_from_nothing_as_create_all_creates_it(pg: TestDB, twin: TestDB) -> None:
    metadata = bookings(where="note IS NOT NULL", unlogged=True, fillfactor=70, index_fillfactor=60)
    prepared, applied = sync(pg, metadata)
    assert applied is not None and not prepared.unmanaged_declared, prepared.unmanaged_declared
    table = live(pg).table("public", "booking")
    assert table is not None and table.unlogged and table.options == ("fillfactor=70",)
    assert [x.name for x in table.exclusions] == [HOSTILE]
    assert table.indexes[0].options == ("fillfactor=60",)
    assert rediff(pg, metadata) == []
    _dump_equal(pg, twin, metadata)


def test_an_exclusion_constraint_is_added_changed_and_enforced(pg: TestDB, twin: TestDB) -> None:
    sync(pg, bookings(exclusion=None))
    pg.execute("INSERT INTO booking (room, during) VALUES ('[1,2)', '[2020-01-01,2020-01-02)')")
    prepared, _ = sync(pg, bookings())
    assert [type(c).__name__ for c in prepared.diff.changes] == ["AddExclusion"]
    (statement,) = prepared.plan.statements
    assert statement.sql.startswith('ALTER TABLE "public"."booking" ADD CONSTRAINT "no ""double"" booking" EXCLUDE')
    assert HazardKind.DATA_DEPENDENT in {h.kind for h in statement.hazards}
    with pytest.raises(Exception, match="conflicting key value violates exclusion constraint"):
        pg.execute("INSERT INTO booking (room, during) VALUES ('[1,3)', '[2020-01-01,2020-01-03)')")
    assert rediff(pg, bookings()) == []

    changed = bookings(exclusion="=", where="note IS NOT NULL")
    prepared, _ = sync(pg, changed)
    assert [type(c).__name__ for c in prepared.diff.changes] == ["DropExclusion", "AddExclusion"]
    assert rediff(pg, changed) == []
    assert pg.scalar("SELECT count(*) FROM booking") == 1  # rows kept
    _dump_equal(pg, twin, changed)


def test_a_hand_made_exclusion_constraint_is_left_alone_and_dropped_with_prune(pg: TestDB) -> None:
    metadata = bookings(exclusion=None)
    sync(pg, metadata)
    pg.execute('ALTER TABLE booking ADD CONSTRAINT "dba""s" EXCLUDE USING gist (during WITH &&)')
    prepared = prepare(pg, metadata)
    assert prepared.plan.empty
    assert 'exclusion constraint public.booking.dba"s' in [u.describe() for u in prepared.diff.unmanaged]
    pruned, _ = sync(pg, metadata, prune=True)
    assert [type(c).__name__ for c in pruned.diff.changes] == ["DropExclusion"]
    assert live(pg).table("public", "booking").exclusions == ()  # type: ignore[union-attr]


def test_unlogged_and_logged_follow_the_models(pg: TestDB, twin: TestDB) -> None:
    sync(pg, bookings())
    pg.execute("INSERT INTO booking (room, during) VALUES ('[1,2)', '[2020-01-01,2020-01-02)')")
    prepared, _ = sync(pg, bookings(unlogged=True))
    assert [s.sql for s in prepared.plan.statements] == ['ALTER TABLE "public"."booking" SET UNLOGGED']
    assert HazardKind.CORRECTNESS in prepared.plan.kinds()
    assert pg.scalar("SELECT relpersistence FROM pg_class WHERE relname = 'booking'") == "u"
    assert rediff(pg, bookings(unlogged=True)) == []
    prepared, _ = sync(pg, bookings())  # a hand-made or former UNLOGGED is not left alone: the models say logged
    assert [s.sql for s in prepared.plan.statements] == ['ALTER TABLE "public"."booking" SET LOGGED']
    assert pg.scalar("SELECT count(*) FROM booking") == 1
    _dump_equal(pg, twin, bookings())


def test_a_big_table_set_logged_is_a_locking_hazard(pg: TestDB) -> None:
    sync(pg, bookings(exclusion=None, unlogged=True))
    pg.execute(
        "INSERT INTO booking (room, during, note) SELECT int4range(i, i + 1), tsrange(NULL, NULL), repeat('x', 200) "
        "FROM generate_series(1, 20000) i"
    )
    prepared = prepare(pg, bookings(exclusion=None))
    (statement,) = prepared.plan.statements
    facts = [h.fact for h in statement.hazards if h.kind is HazardKind.LOCKING]
    assert facts and "SET LOGGED rewrites the table" in facts[0] and "booking" in facts[0]


def test_storage_parameters_are_set_changed_and_undeclared_ones_left_alone(pg: TestDB, twin: TestDB) -> None:
    sync(pg, bookings())
    prepared, _ = sync(pg, bookings(fillfactor=70, index_fillfactor=60))
    assert [s.sql for s in prepared.plan.statements] == [
        'ALTER TABLE "public"."booking" SET (fillfactor = \'70\')',
        'ALTER INDEX "public"."ix_booking_note" SET (fillfactor = \'60\')',
    ]
    assert rediff(pg, bookings(fillfactor=70, index_fillfactor=60)) == []
    _dump_equal(pg, twin, bookings(fillfactor=70, index_fillfactor=60))

    pg.execute("ALTER TABLE booking SET (autovacuum_enabled = false)")
    pg.execute("ALTER INDEX ix_booking_note SET (deduplicate_items = off)")
    prepared = prepare(pg, bookings(fillfactor=50, index_fillfactor=60))
    assert [s.sql for s in prepared.plan.statements] == ['ALTER TABLE "public"."booking" SET (fillfactor = \'50\')']
    alone = [u.describe() for u in prepared.diff.unmanaged]
    assert "storage parameter public.booking.autovacuum_enabled (autovacuum_enabled=false)" in alone
    assert "index storage parameter public.booking.ix_booking_note (deduplicate_items=off)" in alone

    pruned, _ = sync(pg, bookings(), prune=True)
    assert sorted(s.sql for s in pruned.plan.statements) == [
        'ALTER INDEX "public"."ix_booking_note" RESET (deduplicate_items, fillfactor)',
        'ALTER TABLE "public"."booking" RESET (autovacuum_enabled, fillfactor)',
    ]
    table = live(pg).table("public", "booking")
    assert table is not None and table.options == () and table.indexes[0].options == ()


def test_a_rebuilt_index_keeps_its_storage_parameters(pg: TestDB) -> None:
    sync(pg, bookings(index_fillfactor=60))
    metadata = bookings(index_fillfactor=60)
    metadata.tables["booking"].indexes.clear()
    Index("ix_booking_note", metadata.tables["booking"].c.note.desc(), postgresql_with={"fillfactor": 60})
    prepared, _ = sync(pg, metadata)
    assert [type(c).__name__ for c in prepared.diff.changes] == ["DropIndex", "CreateIndex"]
    assert "WITH (fillfactor = '60')" in prepared.plan.statements[-1].sql
    assert rediff(pg, metadata) == []
