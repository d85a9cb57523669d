BEGIN;
ALTER TABLE "public"."people" ADD CONSTRAINT "fk_team" FOREIGN KEY ("team_id") REFERENCES "public"."teams" ("id") ON DELETE SET NULL NOT VALID;
-- DATA_DEPENDENT: people has 0 rows pointing at missing teams rows (foreign key fk_team): fix or remove them first
ALTER TABLE "public"."people" VALIDATE CONSTRAINT "fk_team";
COMMIT;
