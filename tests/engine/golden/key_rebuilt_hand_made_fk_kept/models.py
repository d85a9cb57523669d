"""A primary key rebuilt under a foreign key the models do not declare, with a unique key still to reference."""

from sqlalchemy import Column, Integer, MetaData, Table, Text, UniqueConstraint

metadata = MetaData()
Table(
    "teams",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("code", Text, primary_key=True),
    UniqueConstraint("id", name="uq_teams_id"),
)
Table("people", metadata, Column("id", Integer, primary_key=True), Column("team_id", Integer))
