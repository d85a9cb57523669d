BEGIN;
ALTER TABLE "public"."people" ALTER COLUMN "status" SET DEFAULT 'open'::text;
ALTER TABLE "public"."people" ALTER COLUMN "score" DROP DEFAULT;
ALTER TABLE "public"."people" ALTER COLUMN "team" SET DEFAULT 'none'::text;
COMMIT;
