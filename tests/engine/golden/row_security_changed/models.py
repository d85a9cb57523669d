"""Row-level security on a table, declared with DDL events on it."""

from sqlalchemy import DDL, Column, Integer, MetaData, Table, Text, event

metadata = MetaData()
notes = Table(
    "notes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("owner", Text, nullable=False),
    Column("body", Text),
)

for ddl in (
    "ALTER TABLE notes ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE notes FORCE ROW LEVEL SECURITY",
    # expression changed: ALTER POLICY
    "CREATE POLICY own_rows ON notes FOR SELECT USING (owner = session_user)",
    # command changed: dropped and created
    "CREATE POLICY writers ON notes FOR INSERT WITH CHECK (owner = current_user)",
    # new
    "CREATE POLICY no_empty_body ON notes AS RESTRICTIVE FOR INSERT WITH CHECK (body <> '')",
):
    event.listen(notes, "after_create", DDL(ddl))
