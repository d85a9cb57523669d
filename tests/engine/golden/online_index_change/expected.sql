-- INDEX_BUILD: builds ix_orders_customer on orders (48.0 kB, about 50 rows) without blocking writes
-- CORRECTNESS: runs after the transaction commits: builds the new ix_orders_customer as ix_orders_customer_ssnew without blocking writes; if it fails, the next sync drops the unfinished copy and builds it again
-- before a retry after lock_timeout: DROP INDEX CONCURRENTLY IF EXISTS "public"."ix_orders_customer_ssnew";
CREATE INDEX CONCURRENTLY "ix_orders_customer_ssnew" ON "public"."orders" USING btree (customer, placed);
-- CORRECTNESS: runs after the transaction commits: the old ix_orders_customer is dropped CONCURRENTLY only once its replacement is built
DROP INDEX CONCURRENTLY IF EXISTS "public"."ix_orders_customer";
ALTER INDEX "public"."ix_orders_customer_ssnew" RENAME TO "ix_orders_customer";
-- INDEX_BUILD: builds ix_orders_state on orders (48.0 kB, about 50 rows) without blocking writes
-- CORRECTNESS: runs after the transaction commits (CONCURRENTLY cannot run in one); if it fails, an invalid index is left that the next sync rebuilds
-- before a retry after lock_timeout: DROP INDEX CONCURRENTLY IF EXISTS "public"."ix_orders_state";
CREATE INDEX CONCURRENTLY "ix_orders_state" ON "public"."orders" USING btree (state);
