"""A database built by migrations: IN-list checks and a partial index re-parsed after ALTER TYPE, CURRENT_TIMESTAMP and other spellings of the models' defaults, a non-native enum's check under another name: nothing to do."""

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

metadata = MetaData()
runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column(
        "status",
        Enum("queued", "running", "done", name="runs_status", native_enum=False, create_constraint=True, length=7),
    ),
    Column("kind", String(20)),
    Column("label", String(30)),
    CheckConstraint("label IN ('x', 'y')", name="runs_label_check"),
)
Index("ix_runs_open", runs.c.id, postgresql_where=text("kind IN ('a', 'b')"))
Index("ix_runs_kind_lower", func.lower(runs.c.kind))

Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), server_default=func.now()),
    Column("seen_at", DateTime(timezone=True), server_default=func.current_timestamp()),
    Column("day", Date, server_default=func.current_date()),
    Column("local_at", DateTime, server_default=text("(now())::timestamp")),
    Column("naive_at", DateTime, server_default=func.now()),
    Column("utc_at", DateTime, server_default=text("(now() AT TIME ZONE 'utc')")),
    Column("label", String(40), server_default="x"),
    Column("note", Text, server_default="n"),
    Column("amount", Numeric(10, 2), server_default=text("0")),
    Column("ratio", Numeric, server_default="1"),
    Column("retries", Integer, server_default=text("-1")),
    Column("active", Boolean, server_default=text("true")),
    Column("code", String(10), server_default=text("'c'::text")),
    Column("slug", Text, Computed("lower(code)", persisted=True)),
)
