"""Objects a DBA made by hand (an index, checks, a unique, comments, a collation, a table) are left alone without prune, and listed."""

from sqlalchemy import Column, Integer, MetaData, String, Table, Text

metadata = MetaData()
Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sku", String(40), nullable=False),
    Column("qty", Integer, nullable=False),
    Column("note", Text, comment="set by the models"),
)
