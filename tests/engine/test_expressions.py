"""Expressions compared in normal form (issue 14, points 1 and 2), on the real server.

Each database is built the way a migration tool builds it (raw SQL, `CURRENT_TIMESTAMP`, an
`ALTER COLUMN ... TYPE` after creation), the models are written the way users write them, and then
the diff is empty and `sync` converges (its verification before COMMIT compares the same way); a
genuinely different expression is still reported, in both directions, and `sync` converges on it.
The whole migrated database in sync is the golden case `golden/migrated_expressions_in_sync`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Date,
    DateTime,
    Enum,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.types import TypeEngine

from schemasync.diff.changes import AlterColumnType
from schemasync.diff.expressions import same_default, same_expression
from schemasync.schema.model import Column as ColumnValue
from schemasync.schema.model import Table as TableValue
from tests.conftest import TestDB
from tests.engine.sync_helpers import prepare, rediff, sync

STATUSES = ("queued", "running", "done")


def runs_models(
    statuses: tuple[str, ...] = STATUSES,
    kinds: tuple[str, ...] = ("a", "b"),
    kind_type: type[String] | type[Text] = String,
    length: int | None = None,
) -> MetaData:
    """A non-native Enum with its CHECK, a hand-written IN check, and a partial index with an IN predicate."""
    m = MetaData()
    kind = Column("kind", kind_type(20) if kind_type is String else Text())
    runs = Table(
        "runs",
        m,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column(
            "status", Enum(*statuses, name="runs_status", native_enum=False, create_constraint=True, length=length or 7)
        ),
        kind,
        Column("label", String(30)),
        CheckConstraint("label IN ('x', 'y')", name="runs_label_check"),
    )
    listed = ", ".join(f"'{k}'" for k in kinds)
    Index("ix_runs_open", runs.c.id, postgresql_where=text(f"kind IN ({listed})"))
    Index("ix_runs_kind_lower", func.lower(runs.c.kind))
    return m


RUNS_BY_MIGRATIONS = """
CREATE TABLE runs (
    id int PRIMARY KEY,
    status varchar(5),
    kind varchar(10),
    label varchar(30),
    CONSTRAINT runs_status CHECK (status IN ('queued', 'running', 'done')),
    CONSTRAINT runs_label_check CHECK (label IN ('x', 'y'))
);
CREATE INDEX ix_runs_open ON runs (id) WHERE kind IN ('a', 'b');
CREATE INDEX ix_runs_kind_lower ON runs (lower(kind));
-- later migrations widen the columns: PostgreSQL re-parses every expression on them
ALTER TABLE runs ALTER COLUMN status TYPE varchar(7);
ALTER TABLE runs ALTER COLUMN kind TYPE varchar(20);
"""


def _described(changes: Iterable[object]) -> list[tuple[str, str]]:
    """(change, what it is about: the constraint, index or column) per change."""
    out = []
    for change in changes:
        about = next(v for a in ("name", "constraint", "index", "column") if (v := getattr(change, a, None)))
        out.append((type(change).__name__, about if isinstance(about, str) else about.name))
    return out


def _converges(pg: TestDB, models: MetaData) -> None:
    """sync applies (verification included) and afterwards nothing is left to do."""
    applied = sync(pg, models)[1]
    assert applied is not None, "the test expects changes to apply"
    assert rediff(pg, models) == []
    assert sync(pg, models)[1] is None


def test_in_lists_of_a_migrated_database_are_in_sync(pg: TestDB) -> None:
    """The printed forms differ (fresh vs re-parsed after ALTER TYPE), the expressions do not."""
    pg.execute(RUNS_BY_MIGRATIONS)
    forms = {r[0] for r in pg.execute("SELECT pg_get_expr(indpred, indrelid) FROM pg_index WHERE indpred IS NOT NULL")}
    assert forms == {"((kind)::text = ANY (ARRAY[('a'::character varying)::text, ('b'::character varying)::text]))"}
    assert rediff(pg, runs_models()) == []
    assert sync(pg, runs_models())[1] is None


def test_in_lists_converge_when_the_models_change_the_column_type(pg: TestDB) -> None:
    """Widened enum, varchar -> text: only the types change, the checks and indexes stay, sync converges."""
    pg.execute(RUNS_BY_MIGRATIONS)
    models = runs_models(kind_type=Text, length=9)  # room for a longer value in a later release
    prepared = prepare(pg, models)
    assert {type(c).__name__ for c in prepared.diff.changes} == {"AlterColumnType"}
    assert {c.column for c in prepared.diff.changes if isinstance(c, AlterColumnType)} == {"status", "kind"}
    _converges(pg, models)


@pytest.mark.parametrize(
    ("database", "models"),
    [(STATUSES, (*STATUSES, "failed")), ((*STATUSES, "failed"), STATUSES)],
    ids=["value-added", "value-removed"],
)
def test_a_changed_in_list_is_reported_and_sync_converges(
    pg: TestDB, database: tuple[str, ...], models: tuple[str, ...]
) -> None:
    listed = ", ".join(f"'{s}'" for s in database)
    pg.execute(RUNS_BY_MIGRATIONS.replace("IN ('queued', 'running', 'done')", f"IN ({listed})"))
    kinds = ("a", "b", "c") if len(models) > len(database) else ("a",)
    wanted = runs_models(models, kinds)
    changes = prepare(pg, wanted).diff.changes
    assert sorted(type(c).__name__ for c in changes) == ["AddCheck", "CreateIndex", "DropCheck", "DropIndex"]
    assert {getattr(c, "name", None) for c in changes} >= {"runs_status", "ix_runs_open"}
    _converges(pg, wanted)
    checks = pg.scalar("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'runs_status'")
    assert ("'failed'" in str(checks)) == ("failed" in models)


# What pg_dump prints for `code IN ('a', 'b')` on a varchar column: restored, it is stored re-parsed,
# so a database restored from a dump never has the models' spelling.
DUMPED_IN = "((code)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[]))"


def test_a_changed_comparison_is_reported_and_only_it(pg: TestDB) -> None:
    pg.execute(
        "CREATE TABLE items (id int PRIMARY KEY, qty int, code varchar(5), "
        "CONSTRAINT items_qty CHECK (qty > 0), "
        f"CONSTRAINT items_code CHECK {DUMPED_IN})"
    )
    m = MetaData()
    Table(
        "items",
        m,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("qty", Integer),
        Column("code", String(5)),
        CheckConstraint("qty >= 0", name="items_qty"),
        CheckConstraint("code IN ('a', 'b')", name="items_code"),
    )
    changes = prepare(pg, m).diff.changes
    assert _described(changes) == [("DropCheck", "items_qty"), ("AddCheck", "items_qty")]
    _converges(pg, m)


@pytest.mark.parametrize(
    ("column", "database", "model"),
    [
        ("created_at", "statement_timestamp()", func.now()),
        ("created_at", "clock_timestamp()", func.current_timestamp()),
        ("created_at", "CURRENT_TIMESTAMP(3)", func.now()),
        ("created_at", "'2020-01-01 00:00:00+00'", func.now()),
        ("created_at", "now()", text("'2020-01-01 00:00:00+00'")),
        ("day", "CURRENT_DATE", text("'2020-01-01'")),
        ("local_at", "LOCALTIMESTAMP", func.current_date()),
        ("retries", "0", text("1")),
        ("retries", "1", text("'0'")),
        ("amount", "0", text("0.01")),
        ("label", "'x'", "y"),
    ],
)
def test_a_genuinely_different_default_is_reported_and_only_it(
    pg: TestDB, column: str, database: str, model: Any
) -> None:
    """Beside the column under test, an equivalent default and generation expression that must not count."""
    types: dict[str, TypeEngine[Any]] = {
        "created_at": DateTime(timezone=True),
        "day": Date(),
        "local_at": DateTime(),
        "retries": Integer(),
    }
    types |= {"amount": Numeric(10, 2), "label": String(20)}
    m = MetaData()
    Table(
        "t",
        m,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column(column, types[column], server_default=model),
        Column("stamp", DateTime(timezone=True), server_default=func.now()),
        Column("code", String(5)),
        Column("known", Boolean, Computed("code IN ('a', 'b')", persisted=True)),
    )
    ddl = {"created_at": "timestamptz", "day": "date", "local_at": "timestamp", "retries": "int"}
    ddl |= {"amount": "numeric(10, 2)", "label": "varchar(20)"}
    pg.execute(
        f"CREATE TABLE t (id int PRIMARY KEY, {column} {ddl[column]} DEFAULT {database}, "
        "stamp timestamptz DEFAULT CURRENT_TIMESTAMP, code varchar(5), "
        f"known boolean GENERATED ALWAYS AS ({DUMPED_IN}) STORED)"
    )
    changes = prepare(pg, m).diff.changes
    assert _described(changes) == [("AlterColumnDefault", column)]
    _converges(pg, m)


def test_a_changed_generation_expression_is_reported_and_only_it(pg: TestDB) -> None:
    pg.execute(
        "CREATE TABLE g (id int PRIMARY KEY, code varchar(10), slug text GENERATED ALWAYS AS (lower(code)) STORED, "
        f"known boolean GENERATED ALWAYS AS ({DUMPED_IN}) STORED)"
    )
    m = MetaData()
    Table(
        "g",
        m,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("code", String(10)),
        Column("slug", Text, Computed("upper(code)", persisted=True)),
        Column("known", Boolean, Computed("code IN ('a', 'b')", persisted=True)),
    )
    changes = prepare(pg, m).diff.changes
    assert _described(changes) == [("AlterColumnGenerated", "slug")]
    _converges(pg, m)


# -- the normal form on values (no server): both directions of every rule -------------------------------

VARCHAR = TableValue("public", "t", (ColumnValue("s", "character varying(20)"), ColumnValue("n", "integer")))
TEXT = TableValue("public", "t", (ColumnValue("s", "text"), ColumnValue("n", "integer")))
ANY_AB = "((s)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[]))"


@pytest.mark.parametrize(
    ("old", "old_table", "new", "new_table", "same"),
    [
        (
            ANY_AB,
            VARCHAR,
            "((s)::text = ANY (ARRAY[('a'::character varying)::text, ('b'::character varying)::text]))",
            VARCHAR,
            True,
        ),
        (
            ANY_AB,
            VARCHAR,
            "(s = ANY (ARRAY[('a'::character varying)::text, ('b'::character varying)::text]))",
            TEXT,
            True,
        ),
        (ANY_AB, VARCHAR, "(s = ANY (ARRAY['b'::text, 'a'::text, 'a'::text]))", TEXT, True),
        (ANY_AB, VARCHAR, "(s = ANY (ARRAY['a'::text, 'b'::text, 'c'::text]))", TEXT, False),
        (ANY_AB, VARCHAR, "(s = ANY (ARRAY['a'::text]))", TEXT, False),
        (
            ANY_AB,
            VARCHAR,
            "((s)::text <> ALL ((ARRAY['a'::character varying, 'b'::character varying])::text[]))",
            VARCHAR,
            False,
        ),
        (
            ANY_AB,
            VARCHAR,
            "((s)::text = ANY ((ARRAY['a'::character varying(1), 'b'::character varying(1)])::text[]))",
            VARCHAR,
            False,
        ),
        ("((n)::text = '1'::text)", VARCHAR, "(n = 1)", VARCHAR, False),  # an integer column's cast is real
        ("(n > 0)", VARCHAR, "(n >= 0)", VARCHAR, False),
        ("(n > 0)", VARCHAR, "((n > 0))", VARCHAR, True),
        ("(n > '-1'::integer)", VARCHAR, "(n > (-1))", VARCHAR, True),
        ("lower((s)::text)", VARCHAR, "lower(s)", TEXT, True),
        ("upper((s)::text)", VARCHAR, "lower(s)", TEXT, False),
        ("((n > 0)) NO INHERIT", VARCHAR, "((n > 0)) NO INHERIT", TEXT, True),
        ("((n > 0)) NO INHERIT", VARCHAR, "(n > 0)", TEXT, False),
    ],
)
def test_expression_normal_form(old: str, old_table: TableValue, new: str, new_table: TableValue, same: bool) -> None:
    assert same_expression(old, old_table, new, new_table) is same
    assert same_expression(new, new_table, old, old_table) is same


@pytest.mark.parametrize(
    ("type_", "old", "new", "same"),
    [
        ("timestamp with time zone", "now()", "CURRENT_TIMESTAMP", True),
        ("timestamp with time zone", "transaction_timestamp()", "('now'::text)::timestamp with time zone", True),
        ("timestamp with time zone", "now()", "statement_timestamp()", False),
        ("timestamp with time zone", "now()", "clock_timestamp()", False),
        ("timestamp with time zone", "now()", "CURRENT_TIMESTAMP(3)", False),
        ("timestamp with time zone", "now()", "'2020-01-01 00:00:00+00'::timestamp with time zone", False),
        ("timestamp without time zone", "now()", "LOCALTIMESTAMP", True),
        ("timestamp without time zone", "CURRENT_TIMESTAMP", "(now())::timestamp without time zone", True),
        ("timestamp without time zone", "timezone('utc'::text, now())", "(now() AT TIME ZONE 'utc'::text)", True),
        ("timestamp without time zone", "timezone('utc'::text, now())", "timezone('UTC'::text, now())", False),
        ("timestamp without time zone", "LOCALTIMESTAMP", "CURRENT_DATE", False),
        ("date", "CURRENT_DATE", "('now'::text)::date", True),
        ("date", "CURRENT_DATE", "(now())::date", True),
        ("date", "CURRENT_DATE", "'2020-01-01'::date", False),
        ("time without time zone", "LOCALTIME", "('now'::text)::time without time zone", True),
        ("time with time zone", "CURRENT_TIME", "(now())::time with time zone", True),
        ("numeric(10,2)", "'0'::numeric", "0", True),
        ("numeric(10,2)", "(0)::numeric", "0", True),
        ("numeric(10,2)", "0", "0.01", False),
        ("numeric", "'1.50'::numeric", "1.5", False),  # a different scale is a different numeric value
        ("integer", "'-1'::integer", "'-1'::integer", True),
        ("integer", "0", "1", False),
        ("bigint", "'5'::bigint", "5", True),
        ("character varying(40)", "'x'::text", "'x'::character varying", True),
        ("character varying(40)", "'x'::text", "'y'::character varying", False),
        ("character varying(40)", "'abc'::character varying(2)", "'abc'::character varying", False),
        ("text", "'n'::character varying", "'n'::text", True),
        ("character varying(5)[]", "'{}'::character varying[]", "'{}'::character varying(5)[]", True),
        ("public.status", "'new'::public.status", "'new'::public.status", True),
        ("public.status", "'new'::public.status", "'old'::public.status", False),
        ("boolean", "true", "false", False),
        ("integer", "nextval('public.t_id_seq'::regclass)", "nextval('public.u_id_seq'::regclass)", False),
        ("uuid", "gen_random_uuid()", "gen_random_uuid()", True),
    ],
)
def test_default_normal_form(type_: str, old: str | None, new: str | None, same: bool) -> None:
    table = TableValue("public", "t", (ColumnValue("c", type_, default=old),))
    other = TableValue("public", "t", (ColumnValue("c", type_, default=new),))
    assert same_default(table.columns[0], table, other.columns[0], other) is same
    assert same_default(other.columns[0], other, table.columns[0], table) is same


CLI_MODELS = """
import datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (sa.Index("ix_runs_open", "id", postgresql_where=sa.text("kind IN ('a', 'b')")),)
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(
        sa.Enum("queued", "running", "done", name="runs_status", native_enum=False, create_constraint=True)
    )
    kind: Mapped[str | None] = mapped_column(sa.String(20))
    created_at: Mapped[datetime.datetime | None] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
"""


def test_check_exits_0_on_a_migrated_database(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    """As a user meets it: the database a migration tool built is in sync with the models."""
    pg.execute(
        "CREATE TABLE runs (id serial PRIMARY KEY, status varchar(5) NOT NULL, kind varchar(10), "
        "created_at timestamptz DEFAULT CURRENT_TIMESTAMP, "
        "CONSTRAINT runs_status CHECK (status IN ('queued', 'running', 'done')));"
        "CREATE INDEX ix_runs_open ON runs (id) WHERE kind IN ('a', 'b');"
        "ALTER TABLE runs ALTER COLUMN status TYPE varchar(7), ALTER COLUMN kind TYPE varchar(20);"
    )
    (cli.project / "pyproject.toml").write_text(
        '[project]\nname = "runs"\nversion = "1.0.0"\n\n[tool.schemasync]\nmodels = "runsmodels:Base"\n'
    )
    (cli.project / "runsmodels.py").write_text(CLI_MODELS)
    check = cli("check", env={"DATABASE_URL": pg.url})
    assert check.code == 0, check.output
