"""A foreign key PostgreSQL named differently from the migrations' name is matched by definition; its ON DELETE changed, it is replaced, not added beside the old one."""

from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table

metadata = MetaData()
Table("orgs", metadata, Column("id", Integer, primary_key=True))
Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", Integer, ForeignKey("orgs.id", ondelete="SET NULL")),
)
