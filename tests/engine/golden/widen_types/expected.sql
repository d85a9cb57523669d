BEGIN;
ALTER TABLE "public"."people" ALTER COLUMN "nick" TYPE character varying(50);
ALTER TABLE "public"."people" ALTER COLUMN "n" TYPE bigint;
COMMIT;
