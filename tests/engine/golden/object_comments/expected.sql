BEGIN;
CREATE OR REPLACE PROCEDURE public.note(IN msg text)
 LANGUAGE plpgsql
AS $procedure$ BEGIN RAISE NOTICE '%', msg; END $procedure$;
-- LOCKING: fills materialized view order_totals by running its query (the cost of a REFRESH) inside the transaction, holding the locks taken before it; it reads orders (16.0 kB)
CREATE MATERIALIZED VIEW "public"."order_totals" AS
SELECT sum(orders.total) AS total
   FROM public.orders;
DROP TRIGGER "orders_touch" ON "public"."orders";
CREATE TRIGGER orders_touch BEFORE INSERT OR UPDATE ON public.orders FOR EACH ROW EXECUTE FUNCTION public.touch();
COMMENT ON MATERIALIZED VIEW "public"."order_totals" IS 'refreshed nightly';
COMMENT ON DOMAIN "public"."positive" IS 'more than nothing';
COMMENT ON TYPE "public"."money_pair" IS 'an amount in a currency';
COMMENT ON PROCEDURE "public"."note"(text) IS 'logs';
COMMENT ON FUNCTION "public"."touch"() IS E'it''s $$ a \\ stamp
for updated_at';
COMMENT ON TRIGGER "orders_touch" ON "public"."orders" IS 'keeps updated_at';
COMMENT ON POLICY "positive_only" ON "public"."orders" IS 'no refunds here';
COMMIT;
