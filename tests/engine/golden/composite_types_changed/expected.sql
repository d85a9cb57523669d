BEGIN;
CREATE TYPE "public"."Geo ""Point""" AS ("lat" double precision, "lon" double precision);
ALTER TYPE "public"."money_amount" RENAME TO "money_amount__old";
CREATE TYPE "public"."money_amount" AS ("currency" character(3), "cents" bigint, "note" text);
-- DATA_DEPENDENT: recasts invoices.total to the new money_amount attribute by attribute: fails if a value does not convert
ALTER TABLE "public"."invoices" ALTER COLUMN "total" TYPE "public"."money_amount" USING CASE WHEN "total" IS NULL THEN NULL ELSE ROW(("total")."currency"::character(3), ("total")."cents"::bigint, NULL::text)::"public"."money_amount" END;
DROP TYPE "public"."money_amount__old";
CREATE TABLE "public"."places" (
    "id" serial NOT NULL,
    "at" public."Geo ""Point""",
    CONSTRAINT "places_pkey" PRIMARY KEY ("id")
);
COMMIT;
