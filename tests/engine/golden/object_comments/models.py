"""Comments declared by COMMENT ON events on the objects other DDL events declare."""

from sqlalchemy import DDL, Column, DateTime, Integer, MetaData, Numeric, Table, event

metadata = MetaData()
orders = Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("total", Numeric, nullable=False),
    Column("updated_at", DateTime(timezone=True)),
)

event.listen(metadata, "before_create", DDL("CREATE DOMAIN positive AS numeric CHECK (VALUE > 0)"))
event.listen(metadata, "before_create", DDL("CREATE TYPE money_pair AS (amount numeric, currency text)"))
for ddl in (
    "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$",
    # changed: the trigger is dropped and created, so its comment is set again
    "CREATE TRIGGER orders_touch BEFORE INSERT OR UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch()",
    "CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 100",
    "CREATE MATERIALIZED VIEW order_totals AS SELECT sum(total) AS total FROM orders",
    "CREATE PROCEDURE note(msg text) LANGUAGE plpgsql AS $proc$ BEGIN RAISE NOTICE '%%', msg; END $proc$",
    "ALTER TABLE orders ENABLE ROW LEVEL SECURITY",
    "CREATE POLICY positive_only ON orders USING (total > 0)",
    # changed, with quotes, $$, a backslash and a new line
    "COMMENT ON FUNCTION touch() IS E'it''s $$ a \\\\ stamp\\nfor updated_at'",
    "COMMENT ON TRIGGER orders_touch ON orders IS 'keeps updated_at'",
    "COMMENT ON DOMAIN positive IS 'more than nothing'",
    "COMMENT ON TYPE money_pair IS 'an amount in a currency'",
    "COMMENT ON MATERIALIZED VIEW order_totals IS 'refreshed nightly'",
    "COMMENT ON PROCEDURE note(text) IS 'logs'",
    "COMMENT ON POLICY positive_only ON orders IS 'no refunds here'",
):
    event.listen(metadata, "after_create", DDL(ddl))
