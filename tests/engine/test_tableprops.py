"""Issue 17, table properties: EXCLUDE constraints, UNLOGGED / LOGGED, storage parameters, partitioned tables.

Each is created from an empty database, changed, and checked by an independent look (`pg_dump
--schema-only` of a `create_all` twin); a hand-made one the models do not declare is left alone, and
dropped or reset with prune.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import DDL, Column, Date, Index, Integer, MetaData, PrimaryKeyConstraint, Table, Text, event, text
from sqlalchemy.dialects.postgresql import INT4RANGE, TSRANGE, ExcludeConstraint

from schemasync.errors import Refused
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
    items: list[Any] = [
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
    kw: dict[str, Any] = {}
    if unlogged:
        kw["prefixes"] = ["UNLOGGED"]
    if fillfactor is not None:
        kw["postgresql_with"] = {"fillfactor": fillfactor}
    table = Table("booking", metadata, *items, **kw)
    index_kw: dict[str, Any] = {"postgresql_with": {"fillfactor": index_fillfactor}} if index_fillfactor else {}
    Index("ix_booking_note", table.c.note, **index_kw)
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


# -- partitioned tables --------------------------------------------------------------------------

HOSTILE_PARTITION = 'ev "2024"'


def events(*partitions: str, key: str = "RANGE (created_at)") -> MetaData:
    """A partitioned table and its partitions, declared as DDL events (`CREATE TABLE ... PARTITION OF ...`)."""
    metadata = MetaData()
    table = Table(
        "events",
        metadata,
        Column("id", Integer, nullable=False),
        Column("created_at", Date, nullable=False),
        Column("body", Text),
        PrimaryKeyConstraint("id", "created_at", name="events_pkey"),
        postgresql_partition_by=key,
    )
    Index("ix_events_body", table.c.body)
    for partition in partitions:
        event.listen(table, "after_create", DDL(partition))
    return metadata


P2024 = 'CREATE TABLE "ev ""2024""" PARTITION OF events FOR VALUES FROM (\'2024-01-01\') TO (\'2025-01-01\')'
P2025 = "CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')"
P2025_LONG = "CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2027-01-01')"
PDEFAULT = "CREATE TABLE events_default PARTITION OF events DEFAULT"


def test_a_partitioned_table_and_its_partitions_are_created_from_nothing(pg: TestDB, twin: TestDB) -> None:
    metadata = events(P2024, P2025, PDEFAULT)
    prepared, applied = sync(pg, metadata)
    assert applied is not None and not prepared.unmanaged_declared, prepared.unmanaged_declared
    assert pg.scalar("SELECT pg_get_partkeydef('events'::regclass)") == "RANGE (created_at)"
    table = live(pg).table("public", "events")
    assert table is not None and [(p.name, p.bound) for p in table.partition_bounds] == [
        (HOSTILE_PARTITION, "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')"),
        ("events_2025", "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')"),
        ("events_default", "DEFAULT"),
    ]
    assert rediff(pg, metadata) == []
    _dump_equal(pg, twin, metadata)


def test_partitions_are_added_attached_rebounded_and_undeclared_ones_dropped_only_with_prune(
    pg: TestDB, twin: TestDB
) -> None:
    sync(pg, events(P2024))
    pg.execute("INSERT INTO events VALUES (1, '2024-05-01', 'kept')")
    pg.execute("CREATE TABLE events_2025 (LIKE events)")  # a plain table of a declared partition's name
    pg.execute("INSERT INTO events_2025 VALUES (2, '2025-05-01', 'attached')")
    pg.execute("CREATE TABLE events_hand PARTITION OF events FOR VALUES FROM ('2030-01-01') TO ('2031-01-01')")
    pg.execute("INSERT INTO events VALUES (3, '2030-05-01', 'hand made')")

    prepared, _ = sync(pg, events(P2024, P2025, PDEFAULT))
    assert sorted(type(c).__name__ for c in prepared.diff.changes) == ["AttachPartition", "CreatePartition"]
    assert [u.describe() for u in prepared.diff.unmanaged] == [
        "partition public.events_hand (of public.events: not declared by the models)"
    ]
    assert pg.scalar("SELECT count(*) FROM events") == 3

    prepared, _ = sync(pg, events(P2024, P2025_LONG, PDEFAULT))  # a new bound: detached and attached again
    assert [s.sql for s in prepared.plan.statements] == [
        'ALTER TABLE "public"."events" DETACH PARTITION "public"."events_2025"',
        'ALTER TABLE "public"."events" ATTACH PARTITION "public"."events_2025" '
        "FOR VALUES FROM ('2025-01-01') TO ('2027-01-01')",
    ]
    assert pg.scalar("SELECT count(*) FROM events") == 3
    assert rediff(pg, events(P2024, P2025_LONG, PDEFAULT)) == []

    pruned = prepare(pg, events(P2024, P2025_LONG, PDEFAULT), prune=True)
    (statement,) = pruned.plan.statements
    assert statement.sql == 'DROP TABLE "public"."events_hand"'
    (hazard,) = statement.hazards
    assert hazard.kind is HazardKind.DELETES_DATA and hazard.fact == "drops partition events_hand and its 1 row"
    sync(pg, events(P2024, P2025_LONG, PDEFAULT), prune=True)
    assert pg.scalar("SELECT count(*) FROM events") == 2
    _dump_equal(pg, twin, events(P2024, P2025_LONG, PDEFAULT))


def test_partitions_the_models_do_not_declare_at_all_stay_the_tables_own(pg: TestDB) -> None:
    """pg_partman's way: the models declare the partitioned table only, a job creates the partitions."""
    sync(pg, events())
    pg.execute(P2024)
    pg.execute("INSERT INTO events VALUES (1, '2024-05-01', 'kept')")
    prepared = prepare(pg, events(), prune=True)
    assert prepared.plan.empty and prepared.matches


def test_a_changed_partition_key_is_refused_with_what_to_do(pg: TestDB) -> None:
    pg.execute("CREATE TABLE events (id integer NOT NULL, created_at date NOT NULL, body text)")
    with pytest.raises(Refused, match="PostgreSQL cannot change a table's partitioning in place") as refused:
        prepare(pg, events(P2024))
    assert "it is not partitioned" in str(refused.value) and "INSERT INTO ... SELECT" in str(refused.value)
    pg.execute("DROP TABLE events")
    sync(pg, events(P2024))
    with pytest.raises(Refused, match="partitioned by RANGE \\(created_at\\)"):
        prepare(pg, events(key="LIST (created_at)"))


def test_a_partition_event_with_more_than_a_bound_stays_custom_ddl(pg: TestDB) -> None:
    metadata = events("CREATE TABLE events_x PARTITION OF events (CONSTRAINT x_body CHECK (body <> '')) DEFAULT")
    prepared = prepare(pg, metadata)
    assert [u.kind for u in prepared.unmanaged_declared] == ["custom DDL"]


def test_a_partitioned_table_the_models_declare_without_a_key_stays_partitioned(pg: TestDB) -> None:
    pg.execute("CREATE TABLE events (id integer NOT NULL, created_at date NOT NULL, body text) PARTITION BY LIST (id)")
    metadata = MetaData()
    Table(
        "events",
        metadata,
        Column("id", Integer, nullable=False),
        Column("created_at", Date, nullable=False),
        Column("body", Text),
    )
    assert prepare(pg, metadata).plan.empty


def test_check_on_a_changed_partition_key_exits_3_with_what_to_do(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    pg.execute("CREATE TABLE events (id integer NOT NULL, created_at date NOT NULL, body text)")
    (cli.project / "pyproject.toml").write_text(
        '[project]\nname = "m"\nversion = "1.0.0"\n\n[tool.schemasync]\nmodels = "mymodels:metadata"\n'
    )
    (cli.project / "mymodels.py").write_text(
        "import sqlalchemy as sa\nmetadata = sa.MetaData()\n"
        'sa.Table("events", metadata, sa.Column("id", sa.Integer, nullable=False),\n'
        '         sa.Column("created_at", sa.Date, nullable=False), sa.Column("body", sa.Text),\n'
        '         postgresql_partition_by="RANGE (created_at)")\n'
    )
    checked = cli("check", env={"DATABASE_URL": pg.url})
    assert checked.code == 3, checked.output
    assert "PostgreSQL cannot change a table's partitioning in place" in checked.output
    assert "Traceback" not in checked.output
