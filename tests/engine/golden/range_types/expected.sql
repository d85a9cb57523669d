BEGIN;
CREATE TYPE "Lab.x"."Float range" AS RANGE (SUBTYPE = double precision, SUBTYPE_DIFF = float8mi);
-- CORRECTNESS: drops range type textrange and creates it again as declared (nothing uses it; PostgreSQL cannot alter it)
DROP TYPE "public"."textrange";
CREATE TYPE "public"."textrange" AS RANGE (SUBTYPE = text, COLLATION = "C");
ALTER TABLE "Lab.x"."readings" ADD COLUMN "span" "Lab.x"."Float range";
COMMIT;
