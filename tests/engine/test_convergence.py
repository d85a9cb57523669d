"""Convergence: create_all(old), insert rows, sync to new; the database then equals create_all(new) as the
inspector sees it (column order aside), the rows of kept columns are intact, and a second sync plans nothing.

Hand-written versions of an evolving app cover every change kind in sequence; hypothesis generates
further pairs of small models (few examples, to keep the suite fast).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Enum,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from tests.conftest import TestDB
from tests.engine.schema_helpers import create_all
from tests.engine.sync_helpers import rediff, same_as_models, sync

NAMING = {"ix": "ix_%(table_name)s_%(column_0_N_name)s", "uq": "uq_%(table_name)s_%(column_0_N_name)s"}


def shop_v1() -> MetaData:
    m = MetaData(naming_convention=NAMING)
    Table(
        "customers",
        m,
        Column("id", Integer, primary_key=True),
        Column("email", String(100), nullable=False, unique=True),
        Column("name", Text),
        Column("phone", String(20)),
    )
    Table(
        "orders",
        m,
        Column("id", Integer, primary_key=True),
        Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
        Column("total", Numeric(10, 2), nullable=False, server_default=text("0")),
        Column("status", Enum("new", "paid", name="order_status"), nullable=False, server_default="new"),
    )
    return m


def shop_v2() -> MetaData:
    """Rename a column, widen a numeric, add an enum label, a table with a FK, an index, a comment."""
    m = MetaData(naming_convention=NAMING)
    Table(
        "customers",
        m,
        Column("id", Integer, primary_key=True),
        Column("email", String(100), nullable=False, unique=True),
        Column("full_name", Text, info={"renamed_from": "name"}),
        Column("phone", String(20)),
        comment="Who buys",
    )
    orders = Table(
        "orders",
        m,
        Column("id", Integer, primary_key=True),
        Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
        Column("total", Numeric(12, 2), nullable=False, server_default=text("0")),
        Column("status", Enum("new", "paid", "shipped", name="order_status"), nullable=False, server_default="new"),
    )
    Index(None, orders.c.customer_id)
    Table(
        "order_items",
        m,
        Column("id", Integer, primary_key=True),
        Column("order_id", Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
        Column("sku", String(40), nullable=False),
    )
    return m


def shop_v3() -> MetaData:
    """Drop a column (prune), remove an enum label, widen a varchar, add a check, identity instead of serial."""
    m = MetaData(naming_convention=NAMING)
    Table(
        "customers",
        m,
        Column("id", Integer, primary_key=True),
        Column("email", String(200), nullable=False, unique=True),
        Column("full_name", Text, nullable=False, server_default=""),
        comment="Who buys",
    )
    orders = Table(
        "orders",
        m,
        Column("id", Integer, primary_key=True),
        Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
        Column("total", Numeric(12, 2), nullable=False, server_default=text("0")),
        Column("status", Enum("paid", "shipped", name="order_status"), nullable=False, server_default="paid"),
        CheckConstraint("total >= 0", name="ck_orders_total"),
    )
    Index(None, orders.c.customer_id)
    Table(
        "order_items",
        m,
        Column("id", Integer, Identity(), primary_key=True),
        Column("order_id", Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
        Column("sku", String(40), nullable=False),
    )
    return m


def shop_v4() -> MetaData:
    """Rename a table that others point at; its sequence, key and foreign keys follow; drop an index."""
    m = MetaData(naming_convention=NAMING)
    Table(
        "customers",
        m,
        Column("id", Integer, primary_key=True),
        Column("email", String(200), nullable=False, unique=True),
        Column("full_name", Text, nullable=False, server_default=""),
        comment="Who buys",
    )
    Table(
        "purchases",
        m,
        Column("id", Integer, primary_key=True),
        Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
        Column("total", Numeric(12, 2), nullable=False, server_default=text("0")),
        Column("status", Enum("paid", "shipped", name="order_status"), nullable=False, server_default="paid"),
        CheckConstraint("total >= 0", name="ck_orders_total"),
        info={"renamed_from": "orders"},
    )
    Table(
        "order_items",
        m,
        Column("id", Integer, Identity(), primary_key=True),
        Column("order_id", Integer, ForeignKey("purchases.id", ondelete="CASCADE"), nullable=False),
        Column("sku", String(40), nullable=False),
        UniqueConstraint("order_id", "sku"),
    )
    return m


def test_an_app_evolves_through_every_kind_of_change(pg: TestDB) -> None:
    create_all(pg, shop_v1())
    pg.execute("INSERT INTO customers (email, name, phone) VALUES ('ada@x', 'Ada', '1'), ('bob@x', 'Bob', NULL)")
    pg.execute("INSERT INTO orders (customer_id, total, status) VALUES (1, 9.5, 'paid'), (2, 3, 'paid')")

    for version in (shop_v2, shop_v3, shop_v4):
        _, applied = sync(pg, version(), prune=True, version="1.0.0")
        assert applied is not None, version.__name__
        db_side, models_side = same_as_models(pg, version())
        assert db_side == models_side, version.__name__
        assert rediff(pg, version(), prune=True) == [], version.__name__

    assert pg.execute("SELECT email, full_name FROM customers ORDER BY id") == [("ada@x", "Ada"), ("bob@x", "Bob")]
    assert pg.execute("SELECT customer_id, total, status::text FROM purchases ORDER BY id") == [
        (1, Decimal("9.50"), "paid"),
        (2, Decimal("3.00"), "paid"),
    ]
    pg.execute("INSERT INTO purchases (customer_id) VALUES (1)")  # the renamed serial sequence carries on
    pg.execute("INSERT INTO order_items (order_id, sku) VALUES (3, 'x')")
    assert pg.scalar("SELECT max(id) FROM purchases") == 3
    assert pg.scalar("SELECT count(*) FROM schema_versions") == 3


# -- generated pairs -------------------------------------------------------------------------------

# Column kinds and the changes between them that keep every generated value valid.
KINDS: dict[str, Callable[[], object]] = {
    "int": Integer,
    "bigint": BigInteger,
    "varchar20": lambda: String(20),
    "varchar50": lambda: String(50),
    "text": Text,
    "bool": Boolean,
    "numeric": lambda: Numeric(12, 2),
}
WIDER = {"int": ["bigint", "numeric"], "varchar20": ["varchar50", "text"], "varchar50": ["text"], "bigint": ["numeric"]}


def value(kind: str, row: int) -> object:
    if kind in ("int", "bigint"):
        return row
    if kind == "numeric":
        return Decimal(row)
    if kind == "bool":
        return row % 2 == 0
    return f"v{row}"


@dataclass(frozen=True)
class Col:
    name: str
    kind: str
    nullable: bool = True
    unique: bool = False
    indexed: bool = False


@dataclass(frozen=True)
class Tab:
    name: str
    columns: tuple[Col, ...]
    ref: str | None = None  # another table this one points at (nullable FK column "ref_id")


def build(tables: tuple[Tab, ...]) -> MetaData:
    m = MetaData(naming_convention=NAMING)
    names = {t.name for t in tables}
    for t in tables:
        cols = [Column("id", Integer, primary_key=True)]
        for c in t.columns:
            cols.append(Column(c.name, KINDS[c.kind](), nullable=c.nullable, unique=c.unique, index=c.indexed))
        if t.ref in names:
            cols.append(Column("ref_id", Integer, ForeignKey(f"{t.ref}.id")))
        Table(t.name, m, *cols)
    return m


column_names = st.sampled_from(["a", "b", "c", "d", "e"])


@st.composite
def tables(draw: st.DrawFn) -> tuple[Tab, ...]:
    out = []
    for name in draw(st.lists(st.sampled_from(["t1", "t2", "t3"]), min_size=1, max_size=3, unique=True)):
        cols = []
        for cname in draw(st.lists(column_names, max_size=4, unique=True)):
            kind = draw(st.sampled_from(list(KINDS)))
            unique = kind != "bool" and draw(st.booleans())  # three rows cannot hold distinct booleans
            cols.append(Col(cname, kind, draw(st.booleans()), unique, draw(st.booleans())))
        out.append(Tab(name, tuple(cols), draw(st.sampled_from([None, *[t.name for t in out]]))))
    return tuple(out)


@st.composite
def evolve(draw: st.DrawFn, old: tuple[Tab, ...]) -> tuple[Tab, ...]:
    """A new version: tables kept or dropped, columns widened / retyped / re-flagged, dropped or added."""
    out = []
    for t in old:
        if draw(st.integers(0, 5)) == 0:
            continue
        cols = []
        for c in t.columns:
            roll = draw(st.integers(0, 6))
            if roll == 0:
                continue  # dropped
            kind = draw(st.sampled_from(WIDER[c.kind])) if roll == 1 and c.kind in WIDER else c.kind
            unique = kind != "bool" and draw(st.booleans())
            cols.append(Col(c.name, kind, draw(st.booleans()), unique, draw(st.booleans())))
        taken = {c.name for c in cols}
        for cname in draw(st.lists(column_names, max_size=2, unique=True)):
            if cname not in taken and cname not in {c.name for c in t.columns}:
                cols.append(Col(cname, draw(st.sampled_from(list(KINDS))), True, False, draw(st.booleans())))
        ref = draw(st.sampled_from([None, *[x.name for x in out]]))
        out.append(Tab(t.name, tuple(cols), ref))
    if not out or draw(st.booleans()):  # models with no table manage no schema at all: keep one
        out.append(Tab("t4", (Col("z", "text"),), out[0].name if out else None))
    return tuple(out)


ROWS = 3


def reset(pg: TestDB) -> None:
    pg.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")


def fill(pg: TestDB, spec: tuple[Tab, ...]) -> None:
    with pg.connect() as conn:
        for t in spec:
            names = ["id"] + [c.name for c in t.columns]
            for row in range(1, ROWS + 1):
                values = [row] + [value(c.kind, row) for c in t.columns]
                placeholders = ", ".join(["%s"] * len(values))
                conn.execute(f"INSERT INTO {t.name} ({', '.join(names)}) VALUES ({placeholders})", values)  # type: ignore[arg-type]


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_generated_model_pairs_converge(pg: TestDB, data: st.DataObject) -> None:
    old = data.draw(tables(), label="old")
    new = data.draw(evolve(old), label="new")
    reset(pg)
    create_all(pg, build(old))
    fill(pg, old)
    sync(pg, build(new), prune=True)
    db_side, models_side = same_as_models(pg, build(new))
    assert db_side == models_side
    assert rediff(pg, build(new), prune=True) == []
    for t in new:
        before = next((o for o in old if o.name == t.name), None)
        if before is None:
            continue
        kept = [c for c in t.columns if c.name in {o.name for o in before.columns}]
        old_kind = {o.name: o.kind for o in before.columns}
        got = pg.execute(f"SELECT {', '.join(['id'] + [c.name for c in kept])} FROM {t.name} ORDER BY id")
        expected = [tuple([row] + [value(old_kind[c.name], row) for c in kept]) for row in range(1, ROWS + 1)]
        assert got == expected


def test_the_rich_model_is_built_from_nothing_and_then_has_no_drift(pg: TestDB) -> None:
    """Every feature the schema value holds, created by our own SQL, must read back as the models."""
    from psycopg import sql

    from tests.engine import rich_models

    available = {r[0] for r in pg.execute("SELECT name FROM pg_available_extensions")}
    extensions = set(rich_models.EXTENSIONS) <= available
    for name in rich_models.EXTENSIONS if extensions else ():
        pg.execute(sql.SQL("CREATE EXTENSION {}").format(sql.Identifier(name)).as_string())
    md = rich_models.build(extensions=extensions)
    prepared, applied = sync(pg, md, version="1.0.0")
    assert applied is not None and len(prepared.plan.statements) > 20
    assert rediff(pg, md) == []
    db_side, models_side = same_as_models(pg, md)
    assert db_side == models_side

    # and the other way round: create_all's own result diffs empty (no false drift)
    reset(pg)  # drops the extensions too: they live in public
    for name in ("Reporting", "inventory"):
        pg.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)).as_string())
    create_all(pg, md, schemas=rich_models.SCHEMAS, extensions=rich_models.EXTENSIONS if extensions else ())
    assert rediff(pg, md) == []
