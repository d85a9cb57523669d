"""A foreign key on a table with rows is added NOT VALID, then validated."""

from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table

metadata = MetaData()
Table("teams", metadata, Column("id", Integer, primary_key=True))
Table(
    "people",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("team_id", Integer, ForeignKey("teams.id", name="fk_team", ondelete="SET NULL")),
)
