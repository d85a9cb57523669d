"""Privileges for PUBLIC on every table and sequence of a schema, declared with GRANT ... ON ALL ... IN SCHEMA."""

from sqlalchemy import DDL, Column, Integer, MetaData, Table, event

metadata = MetaData()
Table("orders", metadata, Column("id", Integer, primary_key=True), schema="Sales")
Table("Order.lines", metadata, Column("id", Integer, primary_key=True), schema="Sales")

for ddl in (
    'GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA "Sales" TO PUBLIC',
    'GRANT USAGE ON ALL SEQUENCES IN SCHEMA "Sales" TO PUBLIC',
):
    event.listen(metadata, "after_create", DDL(ddl))
