BEGIN;
-- CORRECTNESS: drops foreign key fk_team on public.people, which the models do not declare: the key it references, teams (id), is dropped and not kept by the models, so it cannot be added back
ALTER TABLE "public"."people" DROP CONSTRAINT "fk_team";
-- INDEX_DROPPED: drops the index behind primary key teams_pkey: lookups by key on teams may slow down
ALTER TABLE "public"."teams" DROP CONSTRAINT "teams_pkey";
-- DATA_DEPENDENT: teams has 0 repeated values of (id, code): remove the duplicates before adding the primary key
ALTER TABLE "public"."teams" ADD CONSTRAINT "teams_pkey" PRIMARY KEY ("id", "code");
COMMIT;
