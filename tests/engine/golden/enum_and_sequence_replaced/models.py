"""An enum and a sequence the models do not have are dropped with prune; new ones are created."""

from sqlalchemy import Column, Enum, Integer, MetaData, Sequence, Table

metadata = MetaData()
Sequence("ticket_no", start=100, increment=10, metadata=metadata)
Table(
    "people",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", Enum("x", "y", name="kind")),
)
