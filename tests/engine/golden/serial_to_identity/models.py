"""A serial becomes an identity column and keeps its next value."""

from sqlalchemy import Column, Identity, Integer, MetaData, Table

metadata = MetaData()
Table("people", metadata, Column("id", Integer, Identity(), primary_key=True))
