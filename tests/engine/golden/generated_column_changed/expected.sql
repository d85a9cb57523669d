BEGIN;
ALTER TABLE "public"."people" DROP COLUMN "s";
ALTER TABLE "public"."people" ADD COLUMN "s" integer GENERATED ALWAYS AS ((a * b)) STORED;
COMMIT;
