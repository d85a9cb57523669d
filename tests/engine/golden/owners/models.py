"""Objects of every kind the owner setting governs, in a schema of their own and in public."""

from sqlalchemy import DDL, Column, Enum, Integer, MetaData, Numeric, Sequence, Table, Text, event

metadata = MetaData()
Table("orders", metadata, Column("id", Integer, primary_key=True), Column("total", Numeric, nullable=False))
Table(
    "notes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("body", Text),
    Column("mood", Enum("happy", "sad", name="mood", schema="billing")),
    schema="billing",
)
Sequence("invoice_numbers", metadata=metadata, schema="billing")
event.listen(metadata, "before_create", DDL("CREATE DOMAIN billing.positive AS numeric CHECK (VALUE > 0)"))
event.listen(metadata, "before_create", DDL("CREATE TYPE billing.pair AS (a integer, b text)"))
for ddl in (
    "CREATE FUNCTION billing.note_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM billing.notes'",
    "CREATE VIEW billing.short_notes AS SELECT id, body FROM billing.notes WHERE length(body) < 10",
):
    event.listen(metadata, "after_create", DDL(ddl))
