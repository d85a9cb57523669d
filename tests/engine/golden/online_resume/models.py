"""Online, what a failed online run left (a NOT VALID helper check, a NOT VALID foreign key, a half-swapped index) is finished, not started again."""

from sqlalchemy import Column, ForeignKey, Index, Integer, MetaData, Table, Text

metadata = MetaData()
teams = Table("teams", metadata, Column("id", Integer, primary_key=True), Column("name", Text))
players = Table(
    "players",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("team_id", Integer, ForeignKey("teams.id", name="fk_players_team")),
    Column("nick", Text, nullable=False),
    Column("score", Integer),
)
Index("ix_players_score", players.c.score, players.c.team_id)
