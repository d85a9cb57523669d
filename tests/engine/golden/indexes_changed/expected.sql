BEGIN;
-- INDEX_DROPPED: queries on jobs that used ix_jobs_open may slow down
DROP INDEX "public"."ix_jobs_open";
-- INDEX_DROPPED: queries on jobs that used ix_jobs_queue may slow down
DROP INDEX "public"."ix_jobs_queue";
CREATE INDEX "ix_jobs_open" ON "public"."jobs" USING btree (id) WHERE (state = ANY (ARRAY['open'::text, 'retry'::text]));
CREATE INDEX "ix_jobs_queue" ON "public"."jobs" USING btree (queue, created);
-- DATA_DEPENDENT: jobs has 0 repeated values of the key: remove the duplicates before building unique index ux_jobs_queue_id
CREATE UNIQUE INDEX "ux_jobs_queue_id" ON "public"."jobs" USING btree (queue, id);
COMMIT;
