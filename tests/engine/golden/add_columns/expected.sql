BEGIN;
ALTER TABLE "public"."people" ADD COLUMN "nick" text;
ALTER TABLE "public"."people" ADD COLUMN "score" integer DEFAULT 0 NOT NULL;
COMMIT;
