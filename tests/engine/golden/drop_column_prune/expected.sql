BEGIN;
-- DELETES_DATA: drops column people.fax and its values in 1 row
ALTER TABLE "public"."people" DROP COLUMN "fax";
COMMIT;
