"""SET NOT NULL on a column without NULLs, and a boolean becomes text with a default."""

from sqlalchemy import Column, Integer, MetaData, Table, Text

metadata = MetaData()
Table(
    "people",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", Text, nullable=False),
    Column("active", Text, server_default="yes"),
)
