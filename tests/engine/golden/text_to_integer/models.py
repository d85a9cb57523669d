"""text to integer needs USING; the rows it depends on are counted."""

from sqlalchemy import Column, Integer, MetaData, Table

metadata = MetaData()
Table("people", metadata, Column("id", Integer, primary_key=True), Column("age", Integer))
