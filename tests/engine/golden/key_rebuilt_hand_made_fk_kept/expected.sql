BEGIN;
ALTER TABLE "public"."people" DROP CONSTRAINT "fk_team";
-- INDEX_DROPPED: drops the index behind primary key teams_pkey: lookups by key on teams may slow down
ALTER TABLE "public"."teams" DROP CONSTRAINT "teams_pkey";
-- DATA_DEPENDENT: teams has 0 repeated values of (id, code): remove the duplicates before adding the primary key
ALTER TABLE "public"."teams" ADD CONSTRAINT "teams_pkey" PRIMARY KEY ("id", "code");
-- DATA_DEPENDENT: teams has 0 repeated values of (id): remove the duplicates before adding the unique constraint
ALTER TABLE "public"."teams" ADD CONSTRAINT "uq_teams_id" UNIQUE ("id");
ALTER TABLE "public"."people" ADD CONSTRAINT "fk_team" FOREIGN KEY ("team_id") REFERENCES "public"."teams" ("id") NOT VALID;
-- DATA_DEPENDENT: people has 0 rows pointing at missing teams rows (foreign key fk_team): fix or remove them first
ALTER TABLE "public"."people" VALIDATE CONSTRAINT "fk_team";
COMMIT;
