BEGIN;
ALTER TYPE "public"."mood" RENAME TO "mood__old";
CREATE TYPE "public"."mood" AS ENUM ('sad', 'ok');
ALTER TABLE "public"."people" ALTER COLUMN "m" DROP DEFAULT;
-- DATA_DEPENDENT: people has 0 rows holding a removed label of mood in m: update them to a remaining label first
ALTER TABLE "public"."people" ALTER COLUMN "m" TYPE "public"."mood" USING "m"::text::"public"."mood";
ALTER TABLE "public"."people" ALTER COLUMN "m" SET DEFAULT 'ok'::public.mood;
DROP TYPE "public"."mood__old";
COMMIT;
