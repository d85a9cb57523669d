"""A declared table rename takes its serial's sequence and its primary key's name along."""

from sqlalchemy import Column, Integer, MetaData, Table, Text

metadata = MetaData()
Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", Text),
    info={"renamed_from": "users"},
)
