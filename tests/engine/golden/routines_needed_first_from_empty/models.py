"""Functions a table's default, CHECK and index call (created before the tables: `before_create`), and a view
read by a SQL function that another view calls (after them: `after_create`)."""

from sqlalchemy import DDL, CheckConstraint, Column, Index, Integer, MetaData, Table, Text, event, text

metadata = MetaData()

for ddl in (
    "CREATE FUNCTION next_code() RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN 'C-' || md5(random()::text); END $$",
    'CREATE FUNCTION "is ""ok"""(v integer) RETURNS boolean LANGUAGE sql IMMUTABLE RETURN v > 0',
    'CREATE FUNCTION "norm\'d"(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(t) $$',
):
    event.listen(metadata, "before_create", DDL(ddl))

items = Table(
    "it's items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("code", Text, nullable=False, server_default=text("next_code()")),
    Column("qty", Integer),
    Column("name", Text),
    CheckConstraint('"is ""ok"""(qty)', name="qty_ok"),
    Index("items_by_norm_name", text('"norm\'d"(name)')),
)

for ddl in (
    'CREATE VIEW "a view" AS SELECT id, name FROM "it\'s items"',
    'CREATE FUNCTION "reads view"() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM "a view" $$',
    'CREATE VIEW "calls fn" AS SELECT "reads view"() AS n',
):
    event.listen(metadata, "after_create", DDL(ddl))
