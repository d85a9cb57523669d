"""A database built by migrations with other names for everything the models leave unnamed: nothing to do."""

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, MetaData, String, Table, Text, UniqueConstraint

metadata = MetaData()
Table("orgs", metadata, Column("id", Integer, primary_key=True), Column("name", Text, nullable=False))
Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(100), nullable=False),
    Column("org_id", Integer, ForeignKey("orgs.id", ondelete="CASCADE")),
    Column("age", Integer, index=True),  # SQLAlchemy's convention names it ix_users_age
    UniqueConstraint("email"),
    CheckConstraint("age > 0"),
)
