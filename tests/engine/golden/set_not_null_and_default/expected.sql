BEGIN;
-- DATA_DEPENDENT: people has 0 rows with NULL in email: fill them before it can be NOT NULL
ALTER TABLE "public"."people" ALTER COLUMN "email" SET NOT NULL;
ALTER TABLE "public"."people" ALTER COLUMN "active" TYPE text USING "active"::text;
ALTER TABLE "public"."people" ALTER COLUMN "active" SET DEFAULT 'yes'::text;
COMMIT;
