"""A default changed, one dropped, one added."""

from sqlalchemy import Column, Integer, MetaData, Table, Text

metadata = MetaData()
Table(
    "people",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("status", Text, server_default="open"),
    Column("score", Integer),
    Column("team", Text, server_default="none"),
)
