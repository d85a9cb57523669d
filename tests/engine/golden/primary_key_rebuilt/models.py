"""A primary key rebuilt: the foreign key that points at it goes first and comes back after."""

from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table, Text, UniqueConstraint

metadata = MetaData()
Table(
    "teams",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("code", Text, primary_key=True),
    UniqueConstraint("id", name="uq_teams_id"),
)
Table(
    "people",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("team_id", Integer, ForeignKey("teams.id", name="fk_team")),
)
