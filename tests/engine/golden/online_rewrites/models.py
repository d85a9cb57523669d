"""Online, changes that rewrite the table (integer to bigint, a volatile default) say so as LOCKING with size and an estimate, however small the table."""

from sqlalchemy import BigInteger, Column, Float, Integer, MetaData, Table, text

metadata = MetaData()
events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("counter", BigInteger),
    Column("weight", Float, server_default=text("random()")),
)
