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


def range_models(*, diff: str | None = "float8mi", used: bool = True, collation: str = "") -> sa.MetaData:
    """A range over double precision in a hostile schema, and one over text with a collation."""
    md = sa.MetaData()
    options = f", SUBTYPE_DIFF = {diff}" if diff else ""
    event.listen(md, "before_create", DDL(f'CREATE TYPE {Q}."Float.range" AS RANGE (SUBTYPE = float8{options})'))
    event.listen(md, "before_create", DDL(f"CREATE TYPE public.textrange AS RANGE (SUBTYPE = text{collation})"))
    columns = [sa.Column("id", sa.Integer, primary_key=True)]
    if used:
        columns.append(sa.Column("span", _RangeOf(f'{Q}."Float.range"')))
    sa.Table("readings", md, *columns, schema=SCHEMA)
    sa.Table("labels", md, sa.Column("id", sa.Integer, primary_key=True))
    return md


class _RangeOf(sa.types.UserDefinedType):  # type: ignore[type-arg]
    cache_ok = True

    def __init__(self, name: str) -> None:
        self.name = name

    def get_col_spec(self, **kw: object) -> str:
        return self.name


def test_range_types_created_from_empty_match_create_all(pg: TestDB, twin: TestDB) -> None:  # noqa: F811
    md = range_models()
    prepared, _ = sync(pg, md)
    assert not prepared.desired.unmanaged_declared and not prepared.desired.model_errors
    ranges = {r.name: r for r in live(pg).ranges}
    assert set(ranges) == {"Float.range", "textrange"}
    assert (ranges["Float.range"].schema, ranges["Float.range"].subtype) == (SCHEMA, "double precision")
    assert ranges["Float.range"].subtype_diff == "float8mi" and ranges["Float.range"].multirange is None
    assert rediff(pg, md) == []
    twin.execute(f"CREATE SCHEMA {Q}")
    create_all(twin, md)
    assert schema_dump(pg) == schema_dump(twin)
    pg.execute(f"INSERT INTO {Q}.readings VALUES (1, '[1.5, 2.5)')")


def test_a_changed_range_is_recreated_only_when_unused(pg: TestDB) -> None:
    sync(pg, range_models())
    changed = range_models(diff=None, collation=', COLLATION = "C"')
    prepared = prepare(pg, changed)
    assert [type(x).__name__ for x in prepared.diff.changes] == ["RecreateRange", "RecreateRange"]
    blocking = [h.fact for h in prepared.plan.blocking()]
    assert len(blocking) == 1 and "Float.range" in blocking[0] and "readings.span" in blocking[0]
    # unused: dropped and created again, in the plan's transaction
    unused = range_models(diff=None, used=False, collation=', COLLATION = "C"')
    prepared, _ = sync(pg, unused, prune=True)
    assert not prepared.plan.blocking()
    sql = [s.sql for s in prepared.plan.statements]
    assert f'DROP TYPE "{SCHEMA.replace(chr(34), chr(34) * 2)}"."Float.range"' in sql
    assert 'CREATE TYPE "public"."textrange" AS RANGE (SUBTYPE = text, COLLATION = "C")' in sql
    assert rediff(pg, unused, prune=True) == []


def test_a_hand_made_range_is_left_alone_then_pruned(pg: TestDB) -> None:
    md = range_models()
    sync(pg, md)
    pg.execute("CREATE TYPE public.period AS RANGE (SUBTYPE = date, MULTIRANGE_TYPE_NAME = public.periods)")
    prepared = prepare(pg, md)
    assert prepared.diff.empty
    assert [u.describe() for u in prepared.diff.unmanaged] == ["range type public.period"]
    assert [r.multirange for r in live(pg).ranges if r.name == "period"] == ["public.periods"]
    prepared, _ = sync(pg, md, prune=True)
    assert [s.sql for s in prepared.plan.statements] == ['DROP TYPE "public"."period"']
    assert rediff(pg, md, prune=True) == []
