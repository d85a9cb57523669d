"""Default privileges for PUBLIC in a schema, declared with ALTER DEFAULT PRIVILEGES ... IN SCHEMA."""

from sqlalchemy import DDL, Column, Integer, MetaData, Table, event

metadata = MetaData()
Table("orders", metadata, Column("id", Integer, primary_key=True), schema="Sales")

for ddl in (
    'ALTER DEFAULT PRIVILEGES IN SCHEMA "Sales" GRANT SELECT, INSERT ON TABLES TO PUBLIC',
    'ALTER DEFAULT PRIVILEGES IN SCHEMA "Sales" GRANT USAGE ON SEQUENCES TO PUBLIC',
):
    event.listen(metadata, "after_create", DDL(ddl))
