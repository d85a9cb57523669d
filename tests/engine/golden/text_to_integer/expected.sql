BEGIN;
-- DATA_DEPENDENT: people has 0 rows with values that are not valid integer in age (for integer)
ALTER TABLE "public"."people" ALTER COLUMN "age" TYPE integer USING "age"::integer;
COMMIT;
