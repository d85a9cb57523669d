"""Without prune a column the models no longer have stays, listed as left alone."""

from sqlalchemy import Column, Integer, MetaData, Table

metadata = MetaData()
Table("people", metadata, Column("id", Integer, primary_key=True))
