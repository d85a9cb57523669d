"""An enum label removed: the type is renamed aside, recreated, its columns recast and its default restored."""

from sqlalchemy import Column, Enum, Integer, MetaData, Table

metadata = MetaData()
Table(
    "people",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("m", Enum("sad", "ok", name="mood"), server_default="ok"),
)
