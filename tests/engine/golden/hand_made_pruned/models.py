"""With prune, the objects a DBA made by hand are dropped, with the usual hazards."""

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
