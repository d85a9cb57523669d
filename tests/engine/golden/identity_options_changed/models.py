"""Identity sequence options are changed in place; options the models leave out are restored to their defaults explicitly."""

from sqlalchemy import BigInteger, Column, Identity, Integer, MetaData, Table

metadata = MetaData()
Table(
    "tickets",
    metadata,
    Column("id", Integer, Identity(start=100, increment=10), primary_key=True),
    Column("n", BigInteger, Identity(always=True, maxvalue=1000, cycle=True), nullable=False),
)
