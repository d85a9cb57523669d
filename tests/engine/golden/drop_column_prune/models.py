"""A column the models no longer have is dropped with prune, and the plan says it deletes data."""

from sqlalchemy import Column, Integer, MetaData, Table

metadata = MetaData()
Table("people", metadata, Column("id", Integer, primary_key=True))
