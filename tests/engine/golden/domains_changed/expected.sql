BEGIN;
CREATE DOMAIN "public"."Label ""quoted""" AS text CONSTRAINT "Label ""quoted""_check" CHECK ((length(VALUE) < 80));
ALTER DOMAIN "public"."quantity" DROP DEFAULT;
ALTER DOMAIN "public"."quantity" DROP CONSTRAINT "quantity_check";
CREATE TABLE "public"."tags" (
    "id" serial NOT NULL,
    "label" public."Label ""quoted""",
    CONSTRAINT "tags_pkey" PRIMARY KEY ("id")
);
-- DATA_DEPENDENT: items.qty has 0 rows holding NULL: fill them first
ALTER DOMAIN "public"."quantity" SET NOT NULL;
-- DATA_DEPENDENT: items.qty has 0 rows violating check quantity_check: fix them first
ALTER DOMAIN "public"."quantity" ADD CONSTRAINT "quantity_check" CHECK (((VALUE > 0) AND (VALUE < 1000)));
COMMIT;
