"""Partitioned tables: partitions created, attached and re-bounded; a new partitioned table from nothing."""

from sqlalchemy import DDL, Column, Date, Integer, MetaData, PrimaryKeyConstraint, Table, Text, event

metadata = MetaData()
events = Table(
    "events",
    metadata,
    Column("id", Integer, nullable=False),
    Column("created_at", Date, nullable=False),
    Column("body", Text),
    PrimaryKeyConstraint("id", "created_at", name="events_pkey"),
    postgresql_partition_by="RANGE (created_at)",
)
for partition in (
    'CREATE TABLE "events ""2024""" PARTITION OF events FOR VALUES FROM (\'2024-01-01\') TO (\'2025-01-01\')',
    "CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
    "CREATE TABLE events_default PARTITION OF events DEFAULT",
):
    event.listen(events, "after_create", DDL(partition))

metrics = Table(
    "metrics",
    metadata,
    Column("region", Text, nullable=False),
    Column("value", Integer),
    postgresql_partition_by="LIST (region)",
)
event.listen(metrics, "after_create", DDL("CREATE TABLE metrics_eu PARTITION OF metrics FOR VALUES IN ('eu', 'uk')"))
event.listen(metrics, "after_create", DDL("CREATE TABLE metrics_us PARTITION OF metrics FOR VALUES IN ('us')"))
