"""Online, NOT NULL on an existing table goes through a NOT VALID helper check validated after the transaction."""

from sqlalchemy import Column, Integer, MetaData, Table, Text

metadata = MetaData()
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", Text, nullable=False),
    Column("name", Text),
)
