"""A trigger function, its trigger, a SQL function reading the table and a procedure, all DDL events."""

from sqlalchemy import DDL, Column, DateTime, Integer, MetaData, Numeric, Table, event

metadata = MetaData()
orders = Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("total", Numeric, nullable=False),
    Column("updated_at", DateTime(timezone=True)),
)

for ddl in (
    "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$",
    "CREATE FUNCTION order_total(p_id integer) RETURNS numeric LANGUAGE sql STABLE "
    "AS 'SELECT total FROM orders WHERE id = p_id'",
    "CREATE PROCEDURE purge(older_than integer) LANGUAGE sql AS $$ DELETE FROM orders WHERE id < older_than $$",
    "CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch()",
):
    event.listen(metadata, "after_create", DDL(ddl))
