"""Widening varchar(20) to varchar(50) and integer to bigint."""

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table

metadata = MetaData()
Table(
    "people",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("nick", String(50)),
    Column("n", BigInteger),
)
