BEGIN;
ALTER TABLE "public"."people" DROP CONSTRAINT "ck_age";
ALTER TABLE "public"."people" ADD CONSTRAINT "ck_age" CHECK ((age >= 18)) NOT VALID;
-- DATA_DEPENDENT: people has 0 rows violating check ck_age: fix them first
ALTER TABLE "public"."people" VALIDATE CONSTRAINT "ck_age";
COMMIT;
