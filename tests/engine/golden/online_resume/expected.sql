-- DATA_DEPENDENT: players has 0 rows with NULL in nick: fill them before it can be NOT NULL
-- CORRECTNESS: runs after the transaction commits: scans players for NULLs under SHARE UPDATE EXCLUSIVE (reads and writes go on); if it fails, the helper check stays NOT VALID and the next sync resumes from it
ALTER TABLE "public"."players" VALIDATE CONSTRAINT "schemasync_not_null_nick";
-- CORRECTNESS: runs after the transaction commits: the validated check spares SET NOT NULL its scan, so its ACCESS EXCLUSIVE lock is brief
ALTER TABLE "public"."players" ALTER COLUMN "nick" SET NOT NULL;
ALTER TABLE "public"."players" DROP CONSTRAINT IF EXISTS "schemasync_not_null_nick";
-- CORRECTNESS: runs after the transaction commits: the old ix_players_score is dropped CONCURRENTLY only once its replacement is built
DROP INDEX CONCURRENTLY IF EXISTS "public"."ix_players_score";
ALTER INDEX "public"."ix_players_score_ssnew" RENAME TO "ix_players_score";
-- DATA_DEPENDENT: players has 0 rows pointing at missing teams rows (foreign key fk_players_team): fix or remove them first
-- CORRECTNESS: validates fk_players_team after the transaction commits (reads and writes go on); if it fails, the constraint stays NOT VALID (still enforced for new rows) and the run fails
ALTER TABLE "public"."players" VALIDATE CONSTRAINT "fk_players_team";
