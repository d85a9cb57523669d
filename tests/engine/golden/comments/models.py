"""Table and column comments with a quote and a backslash."""

from sqlalchemy import Column, Integer, MetaData, Table, Text

metadata = MetaData()
Table(
    "people",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("nick", Text, comment="what friends say; it's short"),
    comment="People\\ we know",
)
