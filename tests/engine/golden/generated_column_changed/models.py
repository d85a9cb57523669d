"""A stored generated column's expression changed: dropped and added again."""

from sqlalchemy import Column, Computed, Integer, MetaData, Table

metadata = MetaData()
Table(
    "people",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("a", Integer),
    Column("b", Integer),
    Column("s", Integer, Computed("a * b", persisted=True)),
)
