"""Enums declared with CREATE TYPE ... AS ENUM DDL events, used by columns with create_type=False."""

from sqlalchemy import DDL, Column, Integer, MetaData, Table, event
from sqlalchemy.dialects import postgresql

metadata = MetaData()
for ddl in (
    """CREATE TYPE "Sales.eu".status AS ENUM ('new', 'paid', 'it''s shipped')""",
    """CREATE TYPE "Sales.eu"."Channel" AS ENUM ('web', 'shop')""",
):
    event.listen(metadata, "before_create", DDL(ddl))
Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("status", postgresql.ENUM(name="status", schema="Sales.eu", create_type=False)),
    Column("channel", postgresql.ENUM(name="Channel", schema="Sales.eu", create_type=False)),
    schema="Sales.eu",
)
