"""Enum and range types declared by DDL events (`CREATE TYPE [schema.]name AS ENUM | AS RANGE (...)`): managed like
SQLAlchemy's own enums, created, changed, left alone and pruned, in hostile schemas and names.

Checked against the catalog, a re-diff to nothing and `pg_dump --schema-only` against `create_all`.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import DDL, event
from sqlalchemy.dialects import postgresql

from tests.conftest import TestDB
from tests.engine.schema_helpers import create_all
from tests.engine.sync_helpers import live, prepare, rediff, sync
from tests.engine.test_pg_dump_equal import schema_dump, twin  # noqa: F401  (the twin fixture)

SCHEMA = 'App.s "q"'
Q = '"App.s ""q"""'
MOOD = 'Mood "x"'


def enum_models(labels: tuple[str, ...] = ("sad", "it's ok")) -> sa.MetaData:
    md = sa.MetaData()
    values = ", ".join("'" + label.replace("'", "''") + "'" for label in labels)
    event.listen(md, "before_create", DDL(f'CREATE TYPE {Q}."Mood ""x""" AS ENUM ({values})'.replace("%", "%%")))
    sa.Table(
        "diary",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("mood", postgresql.ENUM(*labels, name=MOOD, schema=SCHEMA, create_type=False)),
        schema=SCHEMA,
    )
    event.listen(md, "before_create", DDL("CREATE TYPE plain_level AS ENUM ('low', 'high')"))  # unqualified
    level = postgresql.ENUM("low", "high", name="plain_level", create_type=False)
    sa.Table("tasks", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("level", level))
    return md


def test_enum_events_created_from_empty_match_create_all(pg: TestDB, twin: TestDB) -> None:  # noqa: F811
    md = enum_models()
    prepared, _ = sync(pg, md)
    assert not prepared.desired.unmanaged_declared and not prepared.desired.model_errors
    assert {(e.schema, e.name, e.labels) for e in live(pg).enums} == {
        (SCHEMA, MOOD, ("sad", "it's ok")),
        ("public", "plain_level", ("low", "high")),
    }
    assert rediff(pg, md) == []
    twin.execute(f"CREATE SCHEMA {Q}")
    create_all(twin, md)
    assert schema_dump(pg) == schema_dump(twin)


def test_enum_event_changed_left_alone_and_pruned(pg: TestDB) -> None:
    sync(pg, enum_models())
    grown = enum_models(("sad", "it's ok", "100% happy"))
    prepared, _ = sync(pg, grown)
    assert [type(x).__name__ for x in prepared.diff.changes] == ["AddEnumValue"]
    assert rediff(pg, grown) == []
    pg.execute(f"CREATE TYPE {Q}.hand AS ENUM ('a')")
    prepared = prepare(pg, grown)
    assert prepared.diff.empty and [u.describe() for u in prepared.diff.unmanaged] == [f"enum {SCHEMA}.hand"]
    prepared, _ = sync(pg, grown, prune=True)
    assert [type(x).__name__ for x in prepared.diff.changes] == ["DropEnum"]
    assert rediff(pg, grown, prune=True) == []
