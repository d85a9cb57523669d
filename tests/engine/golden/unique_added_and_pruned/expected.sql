BEGIN;
-- INDEX_DROPPED: drops the index behind old_nick: queries using it on people may slow down
ALTER TABLE "public"."people" DROP CONSTRAINT "old_nick";
-- DATA_DEPENDENT: people has 0 repeated values of (email): remove the duplicates before adding the unique constraint
ALTER TABLE "public"."people" ADD CONSTRAINT "uq_people_email" UNIQUE ("email");
COMMIT;
