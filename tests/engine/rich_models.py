"""A model that uses every feature the schema value holds, for the no-false-drift tests.

Two extra schemas (one needing quotes), enums in three schemas, identity and serial keys, generated
columns, collations, comments, composite and self-referential foreign keys with every action,
deferrable constraints, NULLS NOT DISTINCT, expression / partial / INCLUDE / GIN / DESC NULLS FIRST /
operator-class / collated indexes, a foreign-key cycle, standalone sequences (one used by a text
default written without its schema), server defaults with casts and functions, arrays, numeric
precision, timestamptz, uuid with gen_random_uuid(), and types from extensions (citext, pg_trgm).

`build()` returns a fresh MetaData each call, so tests never share mutable state.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    DateTime,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    Interval,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Sequence,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, CITEXT, JSONB, UUID

EXTENSIONS = ("citext", "pg_trgm")
SCHEMAS = ("inventory", "Reporting")  # created before create_all on the live side
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def build(*, extensions: bool = True) -> MetaData:
    """The rich model; `extensions=False` leaves out citext and pg_trgm (servers without contrib)."""
    md = MetaData(naming_convention=NAMING)
    status = Enum("draft", "active", "retired", name="status")
    inv_status = Enum("in_stock", "backorder", "gone", name="status", schema="inventory")
    report_kind = Enum("Daily", "Weekly", "it's monthly", name="Report Kind", schema="Reporting")

    Sequence("order_number_seq", start=1000, increment=5, metadata=md)
    Sequence(
        "batch_seq", schema="inventory", start=10, increment=-1, minvalue=-100, maxvalue=10, cycle=True, metadata=md
    )

    organisations = Table(
        "organisations",
        md,
        Column("id", BigInteger, Identity(always=True), primary_key=True),
        Column("slug", CITEXT if extensions else Text, nullable=False, unique=True),
        Column("name", String(200), nullable=False, comment="Display name, as typed."),
        Column("name_sort", Text(collation="C"), Computed("lower(name)", persisted=True)),
        Column("status", status, nullable=False, server_default="draft"),
        Column("tags", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
        Column("scores", ARRAY(Integer, dimensions=2)),
        Column("settings", JSONB, nullable=False, server_default=text('\'{"theme": "light"}\'::jsonb')),
        Column("balance", Numeric(12, 4), nullable=False, server_default=text("0.0000")),
        Column("ratio", Numeric),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
        Column("trial_ends", DateTime(timezone=True), server_default=text("(now() + '14 days'::interval)")),
        Column("grace", Interval, server_default=text("'1 day'::interval")),
        Column("public_id", UUID(as_uuid=True), nullable=False, server_default=text("gen_random_uuid()")),
        Column("parent_id", BigInteger, ForeignKey("organisations.id", ondelete="SET NULL", onupdate="CASCADE")),
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        CheckConstraint("char_length(name) BETWEEN 1 AND 200", name="name_length"),
        Index("ix_organisations_lower_name", text("lower(name)"), unique=True),
        Index("ix_organisations_tags", "tags", postgresql_using="gin"),
        Index(
            "ix_organisations_settings",
            "settings",
            postgresql_using="gin",
            postgresql_ops={"settings": "jsonb_path_ops"},
        ),
        Index("ix_organisations_created_desc", text("created_at DESC NULLS FIRST"), "id"),
        comment="Customer accounts; it's the root of everything.",
    )
    if extensions:
        # a hand-qualified name of an object the models do not own stays pointed at the live one
        organisations.append_column(Column("handle", CITEXT, server_default=text("'anon'::public.citext")))
        Index(
            "ix_organisations_name_trgm",
            organisations.c.name,
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        )

    Table(
        "projects",
        md,
        Column("organisation_id", BigInteger, ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
        Column("number", Integer, nullable=False),
        Column("title", String(120, collation="POSIX"), nullable=False),
        Column("code", String(20), nullable=True),
        Column("archived", Boolean, nullable=False, server_default=text("false")),
        Column("budget", Numeric(10, 2)),
        PrimaryKeyConstraint("organisation_id", "number"),
        UniqueConstraint("organisation_id", "code", postgresql_nulls_not_distinct=True),
        UniqueConstraint(
            "organisation_id", "title", name="uq_projects_title_deferred", deferrable=True, initially="DEFERRED"
        ),
        Index(
            "ix_projects_open", "organisation_id", postgresql_where=text("NOT archived"), postgresql_include=["title"]
        ),
        Index("ix_projects_title_pattern", "title", postgresql_ops={"title": "text_pattern_ops"}),
        Index("ix_projects_code_c", text('code COLLATE "C" DESC')),
        Index("ix_projects_budget_hash", "budget", postgresql_using="hash"),
    )

    Table(
        "tasks",
        md,
        Column("id", Integer, primary_key=True),  # serial
        Column("organisation_id", BigInteger, nullable=False),
        Column("project_number", Integer, nullable=False),
        Column("parent_id", Integer, ForeignKey("tasks.id", ondelete="CASCADE", deferrable=True, initially="DEFERRED")),
        Column("order_number", BigInteger, nullable=False, server_default=text("nextval('order_number_seq')")),
        Column("Order", SmallInteger, nullable=False, server_default=text("1")),  # needs quoting
        Column("quantity", Integer, nullable=False, server_default=text("1")),
        Column("unit_price", Numeric(10, 2), nullable=False),
        Column("total", Numeric(12, 2), Computed("quantity * unit_price", persisted=True)),
        Column("estimate", Integer, Identity(always=False, start=100, increment=10)),
        Column("assignee", String(64, collation="C"), comment="Login name; compared byte-wise."),
        Column("due", DateTime(timezone=True)),
        Column("done_at", DateTime),
        ForeignKeyConstraint(
            ["organisation_id", "project_number"],
            ["projects.organisation_id", "projects.number"],
            ondelete="RESTRICT",
            onupdate="CASCADE",
            match="FULL",
        ),
        ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name="fk_tasks_org_default",
            ondelete="SET DEFAULT",
            onupdate="NO ACTION",
        ),
        CheckConstraint('"Order" > 0', name="order_positive"),
        Index("ix_tasks_due", text("due DESC NULLS LAST")),
        Index("ix_tasks_done_nulls_first", text("done_at NULLS FIRST")),
        Index("ix_tasks_open", "organisation_id", "due", postgresql_where=text("done_at IS NULL")),
        Index("ix_tasks_assignee_nnd", "assignee", unique=True, postgresql_nulls_not_distinct=True),
        Index("ix_tasks_total_expr", text("(quantity * unit_price)"), text("lower((assignee)::text)")),
        comment="Work items.",
    )

    Table(
        "warehouses",
        md,
        Column("id", BigInteger, primary_key=True),  # bigserial
        Column("code", String(8), nullable=False),
        Column("status", inv_status, nullable=False, server_default="in_stock"),
        Column("org_status", status),
        Column("batch", Integer, nullable=False, server_default=text("nextval('inventory.batch_seq'::regclass)")),
        Column("main_stock_id", BigInteger),
        Column("owner_id", BigInteger, ForeignKey("organisations.id", ondelete="NO ACTION", onupdate="RESTRICT")),
        UniqueConstraint("code", deferrable=True),
        ForeignKeyConstraint(
            ["main_stock_id"], ["inventory.stock.id"], use_alter=True, name="fk_warehouses_main_stock"
        ),
        schema="inventory",
        comment="Where stock lives.",
    )

    Table(
        "stock",
        md,
        Column("id", BigInteger, Identity(always=False), primary_key=True),
        Column("warehouse_id", BigInteger, ForeignKey("inventory.warehouses.id", ondelete="CASCADE"), nullable=False),
        Column("sku", String(40), nullable=False),
        Column("qty", Integer, nullable=False, server_default=text("0")),
        Column("status", inv_status, nullable=False),
        Column("history", ARRAY(inv_status)),
        UniqueConstraint("warehouse_id", "sku"),
        CheckConstraint("qty >= 0", name="qty_not_negative"),
        Index("ix_stock_sku_status", "sku", "status"),
        schema="inventory",
    )

    Table(
        "Daily Reports",
        md,
        Column("id", Integer, primary_key=True),
        Column("kind", report_kind, nullable=False, server_default="Daily"),
        Column("organisation_id", BigInteger, ForeignKey("organisations.id", ondelete="CASCADE")),
        Column("warehouse_id", BigInteger, ForeignKey("inventory.warehouses.id")),
        Column("body", Text, nullable=False, server_default=text("''::text")),
        Index("ix_daily_kind", "kind", "organisation_id"),
        schema="Reporting",
    )
    return md
