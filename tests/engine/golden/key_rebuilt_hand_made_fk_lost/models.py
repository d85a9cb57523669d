"""A primary key rebuilt under a foreign key the models do not declare, with nothing left to reference."""

from sqlalchemy import Column, Integer, MetaData, Table, Text

metadata = MetaData()
Table(
    "teams",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("code", Text, primary_key=True),
)
Table("people", metadata, Column("id", Integer, primary_key=True), Column("team_id", Integer))
