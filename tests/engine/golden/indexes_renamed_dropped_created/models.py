"""Indexes: one renamed (same shape), one dropped with prune, an expression index created."""

from sqlalchemy import Column, Index, Integer, MetaData, Table, Text, func

metadata = MetaData()
people = Table(
    "people",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("nick", Text),
    Column("age", Integer),
)
Index("ix_people_nick", people.c.nick)
Index("ix_people_lower_nick", func.lower(people.c.nick))
