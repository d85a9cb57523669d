"""A changed check constraint is dropped and added NOT VALID, then validated."""

from sqlalchemy import CheckConstraint, Column, Integer, MetaData, Table

metadata = MetaData()
Table(
    "people",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("age", Integer),
    CheckConstraint("age >= 18", name="ck_age"),
)
