BEGIN;
-- CORRECTNESS: from here on new rows with NULL in users.email are refused (helper check schemasync_not_null_email, NOT VALID); the existing rows are checked after the transaction
ALTER TABLE "public"."users" ADD CONSTRAINT "schemasync_not_null_email" CHECK ("email" IS NOT NULL) NOT VALID;
COMMIT;
-- DATA_DEPENDENT: users has 0 rows with NULL in email: fill them before it can be NOT NULL
-- CORRECTNESS: runs after the transaction commits: scans users for NULLs under SHARE UPDATE EXCLUSIVE (reads and writes go on); if it fails, the helper check stays NOT VALID and the next sync resumes from it
ALTER TABLE "public"."users" VALIDATE CONSTRAINT "schemasync_not_null_email";
-- CORRECTNESS: runs after the transaction commits: the validated check spares SET NOT NULL its scan, so its ACCESS EXCLUSIVE lock is brief
ALTER TABLE "public"."users" ALTER COLUMN "email" SET NOT NULL;
ALTER TABLE "public"."users" DROP CONSTRAINT IF EXISTS "schemasync_not_null_email";
