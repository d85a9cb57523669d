BEGIN;
-- CORRECTNESS: drops view big_paid and re-creates it later in this transaction (it depends on paid_orders, which is dropped and re-created)
DROP VIEW "public"."big_paid";
-- CORRECTNESS: drops materialized view totals and re-creates it later in this transaction (it depends on paid_orders, which is dropped and re-created)
DROP MATERIALIZED VIEW "public"."totals";
-- CORRECTNESS: drops view hand_made and re-creates it later in this transaction (it depends on column orders.amount, which changes)
DROP VIEW "public"."hand_made";
-- CORRECTNESS: drops view paid_orders and re-creates it later in this transaction (it depends on column orders.amount, which changes)
DROP VIEW "public"."paid_orders";
-- DATA_DEPENDENT: orders has 0 rows with values with more than 10 digits before the decimal point in amount (for numeric(12,2))
ALTER TABLE "public"."orders" ALTER COLUMN "amount" TYPE numeric(12,2);
-- CORRECTNESS: re-creates view hand_made dropped earlier in this transaction (it depends on column orders.amount, which changes; not in the models)
CREATE VIEW "public"."hand_made" AS
SELECT orders.id,
    orders.amount
   FROM public.orders;
-- CORRECTNESS: re-creates view paid_orders dropped earlier in this transaction (it depends on column orders.amount, which changes)
CREATE VIEW "public"."paid_orders" AS
SELECT orders.id,
    orders.status,
    orders.amount
   FROM public.orders
  WHERE ((orders.status)::text <> 'new'::text);
CREATE VIEW "public"."statuses" AS
SELECT DISTINCT orders.status
   FROM public.orders;
-- CORRECTNESS: re-creates view big_paid dropped earlier in this transaction (it depends on paid_orders, which is dropped and re-created)
CREATE VIEW "public"."big_paid" AS
SELECT paid_orders.id,
    paid_orders.amount
   FROM public.paid_orders
  WHERE (paid_orders.amount > (100)::numeric);
-- CORRECTNESS: re-creates materialized view totals dropped earlier in this transaction (it depends on paid_orders, which is dropped and re-created)
-- LOCKING: fills materialized view totals by running its query (the cost of a REFRESH) inside the transaction, holding the locks taken before it; it reads paid_orders (a view)
CREATE MATERIALIZED VIEW "public"."totals" AS
SELECT paid_orders.status,
    sum(paid_orders.amount) AS total
   FROM public.paid_orders
  GROUP BY paid_orders.status;
CREATE UNIQUE INDEX "ix_totals_status" ON "public"."totals" USING btree (status);
COMMIT;
