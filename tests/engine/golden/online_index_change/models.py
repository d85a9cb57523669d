"""Online, a changed index is built CONCURRENTLY under a temporary name and swapped in; a new one is built CONCURRENTLY."""

from sqlalchemy import Column, Date, Index, Integer, MetaData, Table, Text

metadata = MetaData()
orders = Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("customer", Integer),
    Column("placed", Date),
    Column("state", Text),
)
Index("ix_orders_customer", orders.c.customer, orders.c.placed)
Index("ix_orders_state", orders.c.state)
