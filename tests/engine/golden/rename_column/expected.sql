BEGIN;
-- CORRECTNESS: queries that still use people.fullname fail once it is renamed
ALTER TABLE "public"."people" RENAME COLUMN "fullname" TO "display_name";
COMMIT;
