"""A nullable column and a NOT NULL column with a default are added to a table with rows."""

from sqlalchemy import Column, Integer, MetaData, Table, Text, text

metadata = MetaData()
Table(
    "people",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("nick", Text),
    Column("score", Integer, nullable=False, server_default=text("0")),
)
