"""A unique constraint is added (its duplicates counted); another one, not in the models, is dropped with prune."""

from sqlalchemy import Column, Integer, MetaData, Table, Text, UniqueConstraint

metadata = MetaData()
Table(
    "people",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", Text),
    Column("nick", Text),
    UniqueConstraint("email", name="uq_people_email"),
)
