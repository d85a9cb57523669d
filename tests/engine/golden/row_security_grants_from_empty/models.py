"""A table with row-level security enabled and forced, two policies, and grants to PUBLIC."""

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
    "CREATE POLICY own_rows ON notes FOR SELECT USING (owner = current_user)",
    "CREATE POLICY no_empty_body ON notes AS RESTRICTIVE FOR INSERT WITH CHECK (body <> '')",
    "GRANT SELECT, INSERT ON notes TO PUBLIC",
    "GRANT USAGE ON SEQUENCE notes_id_seq TO PUBLIC",
    "GRANT USAGE ON SCHEMA public TO PUBLIC",  # what every database has: PUBLIC is named, so it is declared
):
    event.listen(notes, "after_create", DDL(ddl))
