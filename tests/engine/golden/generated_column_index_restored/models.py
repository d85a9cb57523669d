"""A generated column re-added: the index on it comes back."""

from sqlalchemy import Column, Computed, Index, Integer, MetaData, Table

metadata = MetaData()
people = Table(
    "people",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("a", Integer),
    Column("b", Integer),
    Column("s", Integer, Computed("a * b", persisted=True)),
)
Index("ix_people_s", people.c.s)
