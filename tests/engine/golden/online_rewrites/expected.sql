BEGIN;
-- LOCKING: integer -> bigint rewrites the table and rebuilds its indexes under an ACCESS EXCLUSIVE lock on events (24.0 kB, about 50 rows); estimated under a second of blocked reads and writes (at 32.0 MB/s); the README's expand/contract path (online plans) avoids the long lock
ALTER TABLE "public"."events" ALTER COLUMN "counter" TYPE bigint;
-- LOCKING: adding the column rewrites every row under an ACCESS EXCLUSIVE lock on events (24.0 kB, about 50 rows); estimated under a second of blocked reads and writes (at 32.0 MB/s)
ALTER TABLE "public"."events" ADD COLUMN "weight" double precision DEFAULT random();
COMMIT;
