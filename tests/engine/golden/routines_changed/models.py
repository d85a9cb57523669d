"""Functions, a procedure and triggers declared by DDL events on the MetaData and on a table."""

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
    # body changed: CREATE OR REPLACE
    "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN NEW.updated_at := clock_timestamp(); RETURN NEW; END $$",
    # result type changed: drop and create
    "CREATE FUNCTION order_count() RETURNS bigint LANGUAGE sql STABLE AS 'SELECT count(*) FROM orders'",
    # another signature: the old one is dropped
    "CREATE FUNCTION with_tax(amount numeric, rate numeric DEFAULT 0.2) RETURNS numeric LANGUAGE sql IMMUTABLE "
    "AS $body$ SELECT amount * (1 + rate) $body$",
    # new, with $$ inside its body
    "CREATE PROCEDURE note(msg text) LANGUAGE plpgsql AS $proc$ BEGIN RAISE NOTICE '$$ %%', msg; END $proc$",
    # trigger changed
    "CREATE TRIGGER orders_touch BEFORE INSERT OR UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch()",
):
    event.listen(metadata, "after_create", DDL(ddl))
# A new trigger declared on the table, with its function: a table's after_create events run before the
# MetaData's, so the function comes from before_create (a PL/pgSQL body is not checked before it runs).
event.listen(
    metadata,
    "before_create",
    DDL(
        "CREATE FUNCTION reject_negative() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'negative total'; END $$"
    ),
)
event.listen(
    orders,
    "after_create",
    DDL(
        "CREATE TRIGGER orders_total_positive BEFORE INSERT ON orders FOR EACH ROW WHEN (NEW.total < 0) "
        "EXECUTE FUNCTION reject_negative()"
    ),
)
