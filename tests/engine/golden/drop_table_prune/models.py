"""A table the models no longer have is dropped with prune; its rows are counted in the hazard."""

from sqlalchemy import Column, Integer, MetaData, Table

metadata = MetaData()
Table("people", metadata, Column("id", Integer, primary_key=True))
