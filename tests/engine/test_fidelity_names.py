"""Issue 14, points 3, 6 and 7 on a real PostgreSQL: names nobody chose, hand-made objects, partitions.

Each database is built the way a migration tool or a DBA builds it (raw SQL, other names, objects of
their own), then compared with the app's models.
"""

from __future__ import annotations

import textwrap

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from tests.conftest import TestDB
from tests.engine.schema_helpers import create_all
from tests.engine.sync_helpers import live, prepare, rediff, sync

# What a migration history leaves behind: the same objects as the models below, other names throughout
# (a serial whose table was renamed since, constraints named by hand, a PK under a custom name).
MIGRATED = """
CREATE TABLE orgs (id serial, name text NOT NULL, CONSTRAINT orgs_pk PRIMARY KEY (id));
CREATE TABLE old_users (
    id serial,
    email varchar(100) NOT NULL,
    org_id integer,
    age integer,
    CONSTRAINT pk_users_custom PRIMARY KEY (id),
    CONSTRAINT users_email_uq UNIQUE (email),
    CONSTRAINT age_positive CHECK (age > 0),
    CONSTRAINT fk_users_org FOREIGN KEY (org_id) REFERENCES orgs (id) ON DELETE CASCADE
);
ALTER TABLE old_users RENAME TO users;
CREATE INDEX ix_users_age ON users (age);
INSERT INTO orgs (name) VALUES ('acme');
INSERT INTO users (email, org_id, age) VALUES ('a@x', 1, 30), ('b@x', 1, 40);
"""


def app(*, declared: bool = False, on_delete: str = "CASCADE") -> MetaData:
    """The app's models: constraints unnamed (PostgreSQL picks), or named when `declared`."""
    fk = {"ix": "ix_%(column_0_label)s", "fk": "fk_%(table_name)s_%(column_0_name)s"}
    m = MetaData(naming_convention=fk) if declared else MetaData()
    Table("orgs", m, Column("id", Integer, primary_key=True), Column("name", Text, nullable=False))
    Table(
        "users",
        m,
        Column("id", Integer, primary_key=True),
        Column("email", String(100), nullable=False),
        Column("org_id", Integer, ForeignKey("orgs.id", ondelete=on_delete)),
        Column("age", Integer, index=True),  # SQLAlchemy's own convention names it ix_users_age: declared
        UniqueConstraint("email", name="uq_users_email" if declared else None),
        CheckConstraint("age > 0", name="ck_users_age" if declared else None),
    )
    return m


# -- point 3: names nobody chose ------------------------------------------------------------------


def test_names_nobody_chose_are_matched_by_definition(pg: TestDB) -> None:
    pg.execute(MIGRATED)
    prepared = prepare(pg, app())
    assert prepared.diff.changes == ()
    assert prepared.diff.unmanaged == ()  # the live objects are the models' own, not hand-made extras
    assert prepared.in_sync
    # The desired side still has PostgreSQL's names; only the comparison ignores them.
    users = prepared.desired.table("public", "users")
    assert users is not None and users.primary_key is not None and users.primary_key.name == "users_pkey"


def test_declared_names_still_count_as_renames(pg: TestDB) -> None:
    pg.execute(MIGRATED)
    prepared = prepare(pg, app(declared=True))
    renames = sorted((c.old, c.new) for c in prepared.diff.changes if type(c).__name__ == "RenameConstraint")
    assert renames == [
        ("age_positive", "ck_users_age"),
        ("fk_users_org", "fk_users_org_id"),
        ("users_email_uq", "uq_users_email"),
    ]
    assert len(prepared.diff.changes) == 3  # the unnamed primary keys and the serial's sequence still match


def test_check_exits_0_when_only_undeclared_names_differ(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    pg.execute(MIGRATED)
    (cli.project / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "1.0.0"\n\n[tool.schemasync]\nmodels = "appmodels:metadata"\n'
    )
    (cli.project / "appmodels.py").write_text(
        textwrap.dedent(
            """
            from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, MetaData, String, Table, Text, UniqueConstraint

            metadata = MetaData()
            Table("orgs", metadata, Column("id", Integer, primary_key=True), Column("name", Text, nullable=False))
            Table(
                "users",
                metadata,
                Column("id", Integer, primary_key=True),
                Column("email", String(100), nullable=False),
                Column("org_id", Integer, ForeignKey("orgs.id", ondelete="CASCADE")),
                Column("age", Integer, index=True),
                UniqueConstraint("email"),
                CheckConstraint("age > 0"),
            )
            """
        )
    )
    result = cli("check", env={"DATABASE_URL": pg.url})
    assert result.code == 0, result.output
    assert "In sync" in result.stdout


# -- point 6: objects the models do not declare ---------------------------------------------------


def shop() -> MetaData:
    m = MetaData()
    Table(
        "items",
        m,
        Column("id", Integer, primary_key=True),
        Column("sku", String(40), nullable=False),
        Column("qty", Integer, nullable=False),
        Column("note", Text, comment="set by the models"),
    )
    return m


HAND_MADE = """
CREATE INDEX items_qty_hand ON items (qty);
ALTER TABLE items ADD CONSTRAINT items_qty_sane CHECK (qty < 1000000);
ALTER TABLE items ADD CONSTRAINT items_sku_unique UNIQUE (sku);
COMMENT ON TABLE items IS 'owned by the stock team';
COMMENT ON COLUMN items.sku IS 'vendor code';
ALTER TABLE items ALTER COLUMN sku TYPE varchar(40) COLLATE "C";
"""


def test_hand_made_objects_are_left_alone_by_sync_listed_and_dropped_with_prune(pg: TestDB) -> None:
    create_all(pg, shop())
    pg.execute("INSERT INTO items (sku, qty) VALUES ('a', 1), ('b', 2)")
    pg.execute(HAND_MADE)
    prepared, applied = sync(pg, shop())
    assert applied is None and prepared.diff.changes == ()
    assert sorted(u.describe() for u in prepared.diff.unmanaged) == [
        "check constraint public.items.items_qty_sane",
        'column collation public.items.sku ("C")',
        "column comment public.items.sku ('vendor code')",
        "index public.items.items_qty_hand",
        "table comment public.items ('owned by the stock team')",
        "unique constraint public.items.items_sku_unique",
    ]
    after = live(pg).table("public", "items")
    assert after is not None
    assert [i.name for i in after.indexes] == ["items_qty_hand"]
    assert {k.name for k in after.checks} == {"items_qty_sane"} and [u.name for u in after.uniques] == [
        "items_sku_unique"
    ]
    assert after.comment == "owned by the stock team"
    sku = after.column("sku")
    assert sku is not None and sku.comment == "vendor code" and sku.collation == '"C"'

    # What the models declare differently is still changed: a collation of their own, their comment.
    pg.execute("COMMENT ON COLUMN items.note IS 'changed by hand'")
    m = shop()
    m.tables["items"].c.sku.type = String(40, collation="POSIX")
    prepared, _ = sync(pg, m)
    assert {type(c).__name__ for c in prepared.diff.changes} == {"AlterColumnType", "AlterColumnComment"}
    after = live(pg).table("public", "items")
    assert after is not None
    assert [(c.name, c.comment, c.collation) for c in after.columns if c.name in ("sku", "note")] == [
        ("sku", "vendor code", '"POSIX"'),
        ("note", "set by the models", None),
    ]

    # With prune, everything the models do not declare goes, with the usual hazards.
    prepared, applied = sync(pg, shop(), prune=True)
    assert applied is not None
    assert "INDEX_DROPPED" in {h.kind.name for s in prepared.plan.statements for h in s.hazards}
    after = live(pg).table("public", "items")
    assert after is not None
    assert (after.indexes, after.checks, after.uniques, after.comment) == ((), (), (), None)
    sku = after.column("sku")
    assert sku is not None and (sku.comment, sku.collation) == (None, None)
    assert rediff(pg, shop(), prune=True) == []
    assert pg.scalar("SELECT count(*) FROM items") == 2


def test_a_hand_made_identity_is_left_alone(pg: TestDB) -> None:
    m = MetaData()
    Table("t", m, Column("id", Integer, primary_key=True, autoincrement=False), Column("v", Text))
    pg.execute("CREATE TABLE t (id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v text)")
    prepared = prepare(pg, m)
    assert prepared.diff.changes == ()
    assert [u.describe() for u in prepared.diff.unmanaged] == ["column identity public.t.id"]
    assert [type(c).__name__ for c in prepare(pg, m, prune=True).diff.changes] == ["AlterColumnIdentity"]


# -- point 7: partitions --------------------------------------------------------------------------

PARTITIONED = """
CREATE TABLE events (id bigint NOT NULL, happened date NOT NULL, payload text, PRIMARY KEY (id, happened))
    PARTITION BY RANGE (happened);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')
    PARTITION BY RANGE (happened);
CREATE TABLE events_2025_h1 PARTITION OF events_2025 FOR VALUES FROM ('2025-01-01') TO ('2025-07-01');
CREATE TABLE events_2025_h2 PARTITION OF events_2025 FOR VALUES FROM ('2025-07-01') TO ('2026-01-01');
CREATE INDEX ix_events_happened ON events (happened);
CREATE INDEX events_2024_payload_only ON events_2024 (payload);
INSERT INTO events SELECT g, date '2024-03-01' + g, 'p' || g FROM generate_series(1, 500) g;
ANALYZE events;
"""


def events_models() -> MetaData:
    m = MetaData()
    Table(
        "events",
        m,
        Column("id", BigInteger, nullable=False),
        Column("happened", Date, nullable=False),
        Column("payload", Text),
        PrimaryKeyConstraint("id", "happened"),
        Index("ix_events_happened", "happened"),
    )
    Table("users", m, Column("id", Integer, primary_key=True))
    return m


def test_partitions_belong_to_their_table_and_are_never_pruned(pg: TestDB) -> None:
    pg.execute(PARTITIONED)
    schema = live(pg)
    assert [t.name for t in schema.tables] == ["events"]
    events = schema.table("public", "events")
    assert events is not None
    assert events.partitions == (
        "public.events_2024",
        "public.events_2025",
        "public.events_2025_h1",
        "public.events_2025_h2",
    )
    assert [i.name for i in events.indexes] == ["ix_events_happened"]  # the partitions' own are theirs
    assert events.row_estimate == 500

    prepared = prepare(pg, events_models())
    assert [type(c).__name__ for c in prepared.diff.changes] == ["CreateTable"]  # users only
    assert next(u.describe() for u in prepared.diff.unmanaged) == (
        "partition public.events_2024 (of public.events: part of that table, never pruned)"
    )

    pruned, _ = sync(pg, events_models(), prune=True)
    assert not [c for c in pruned.diff.changes if type(c).__name__.startswith("Drop")]
    assert pg.scalar("SELECT count(*) FROM events") == 500
    assert pg.scalar("SELECT count(*) FROM events_2025_h2") == pg.scalar(
        "SELECT count(*) FROM events WHERE happened >= '2025-07-01'"
    )
    assert rediff(pg, events_models(), prune=True) == []


def test_a_partitioned_table_the_models_do_not_have_is_listed_once_with_its_partitions(pg: TestDB) -> None:
    pg.execute(PARTITIONED)
    m = MetaData()
    Table("users", m, Column("id", Integer, primary_key=True))
    described = [u.describe() for u in prepare(pg, m).diff.unmanaged]
    assert described[0] == "table public.events"
    assert [d.split(" (")[0] for d in described[1:]] == [
        "partition public.events_2024",
        "partition public.events_2025",
        "partition public.events_2025_h1",
        "partition public.events_2025_h2",
    ]
    pruned = prepare(pg, m, prune=True)
    drops = [c for c in pruned.diff.changes if type(c).__name__ == "DropTable"]
    assert [(d.schema, d.name) for d in drops] == [("public", "events")]  # type: ignore[attr-defined]
    assert pruned.diff.unmanaged == ()
