import sqlalchemy as sa
from sqlalchemy.sql.ddl import CreateView

metadata = sa.MetaData()
orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("amount", sa.Numeric(12, 2), nullable=False),
)
paid = CreateView(
    sa.select(orders.c.id, orders.c.status, orders.c.amount).where(orders.c.status != "new"),
    "paid_orders",
    metadata=metadata,
)
CreateView(
    sa.select(paid.table.c.id, paid.table.c.amount).where(paid.table.c.amount > 100), "big_paid", metadata=metadata
)
totals = CreateView(
    sa.select(paid.table.c.status, sa.func.sum(paid.table.c.amount).label("total")).group_by(paid.table.c.status),
    "totals",
    metadata=metadata,
    materialized=True,
)
sa.Index("ix_totals_status", totals.table.c.status, unique=True)
CreateView(sa.select(orders.c.status).distinct(), "statuses", metadata=metadata)
