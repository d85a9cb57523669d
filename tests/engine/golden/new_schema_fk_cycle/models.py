"""A new schema, and two tables in a foreign-key cycle: created first, keys added after."""

from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table

metadata = MetaData()
Table(
    "a",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("b_id", Integer, ForeignKey("app.b.id", name="a_b", use_alter=True)),
    schema="app",
)
Table(
    "b",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("a_id", Integer, ForeignKey("app.a.id", name="b_a")),
    schema="app",
)
