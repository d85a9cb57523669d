BEGIN;
-- DELETES_DATA: drops table old_audit and its 3 rows
DROP TABLE "public"."old_audit";
COMMIT;
