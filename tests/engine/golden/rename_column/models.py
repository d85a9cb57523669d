"""A column rename declared with info={'renamed_from': ...} keeps the data (prune on: no drop and add)."""

from sqlalchemy import Column, Integer, MetaData, Table, Text

metadata = MetaData()
Table(
    "people",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("display_name", Text, info={"renamed_from": "fullname"}),
)
