BEGIN;
ALTER TABLE "public"."jobs" ADD COLUMN "note" text;
COMMIT;
-- INDEX_BUILD: builds ix_jobs_queue on jobs (16.0 kB, about 0 rows) without blocking writes
-- CORRECTNESS: runs after the transaction commits (CONCURRENTLY cannot run in one); if it fails, an invalid index is left that the next sync rebuilds
-- before a retry after lock_timeout: DROP INDEX CONCURRENTLY IF EXISTS "public"."ix_jobs_queue";
CREATE INDEX CONCURRENTLY "ix_jobs_queue" ON "public"."jobs" USING btree (queue);
