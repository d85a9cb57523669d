"""Enum labels added before and after the existing ones."""

from sqlalchemy import Column, Enum, Integer, MetaData, Table

metadata = MetaData()
Table(
    "people",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("m", Enum("awful", "sad", "ok", "great", name="mood")),
)
