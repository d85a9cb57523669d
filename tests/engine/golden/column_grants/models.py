"""Column privileges for PUBLIC declared with GRANT DDL events on the MetaData."""

from sqlalchemy import DDL, Column, Integer, MetaData, Table, Text, event

metadata = MetaData()
Table(
    "docs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("Title", Text),
    Column("secret", Text),
)
Table("notes", metadata, Column("id", Integer, primary_key=True, autoincrement=False))

for ddl in (
    'GRANT SELECT (id, "Title") ON docs TO PUBLIC',
    'GRANT UPDATE ("Title") ON TABLE public.docs TO PUBLIC',
):
    event.listen(metadata, "after_create", DDL(ddl))
