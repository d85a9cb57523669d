"""Domains: a new one (its name needs quoting) created before the table using it, a changed check (once never
seen) and a new NOT NULL with their rows counted, a dropped default, and a hand-made domain left alone."""

from sqlalchemy import Column, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import DOMAIN

metadata = MetaData()
quantity = DOMAIN("quantity", Integer, check="VALUE > 0 AND VALUE < 1000", not_null=True)
label = DOMAIN('Label "quoted"', Text, check="length(VALUE) < 80")
Table("items", metadata, Column("id", Integer, primary_key=True), Column("qty", quantity))
Table("tags", metadata, Column("id", Integer, primary_key=True), Column("label", label))
