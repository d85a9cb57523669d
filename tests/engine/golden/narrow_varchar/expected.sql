BEGIN;
-- DATA_DEPENDENT: people has 0 rows with longer values in code (for character varying(10))
ALTER TABLE "public"."people" ALTER COLUMN "code" TYPE character varying(10);
COMMIT;
