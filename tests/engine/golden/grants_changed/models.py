"""Privileges for PUBLIC declared with GRANT DDL events on the MetaData."""

from sqlalchemy import DDL, Column, Integer, MetaData, Table, Text, event

metadata = MetaData()
Table("docs", metadata, Column("id", Integer, primary_key=True), Column("body", Text))
Table("tags", metadata, Column("id", Integer, primary_key=True), Column("name", Text, nullable=False))

for ddl in (
    "GRANT SELECT, INSERT ON docs TO PUBLIC",
    "GRANT SELECT ON TABLE public.tags TO PUBLIC",
    "GRANT USAGE ON SCHEMA public TO PUBLIC",
):
    event.listen(metadata, "after_create", DDL(ddl))
