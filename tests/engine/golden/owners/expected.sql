BEGIN;
CREATE SCHEMA "billing";
CREATE TYPE "billing"."mood" AS ENUM ('happy', 'sad');
CREATE SEQUENCE "billing"."invoice_numbers" AS bigint INCREMENT BY 1 NO MINVALUE NO MAXVALUE START WITH 1 CACHE 1 NO CYCLE;
CREATE DOMAIN "billing"."positive" AS numeric CONSTRAINT "positive_check" CHECK ((VALUE > (0)::numeric));
CREATE TYPE "billing"."pair" AS ("a" integer, "b" text);
CREATE TABLE "billing"."notes" (
    "id" serial NOT NULL,
    "body" text,
    "mood" billing.mood,
    CONSTRAINT "notes_pkey" PRIMARY KEY ("id")
);
CREATE OR REPLACE FUNCTION billing.note_count()
 RETURNS bigint
 LANGUAGE sql
AS $function$SELECT count(*) FROM billing.notes$function$;
CREATE VIEW "billing"."short_notes" AS
SELECT notes.id,
    notes.body
   FROM billing.notes
  WHERE (length(notes.body) < 10);
ALTER SCHEMA "billing" OWNER TO "postgres";
ALTER TABLE "billing"."notes" OWNER TO "postgres";
ALTER VIEW "billing"."short_notes" OWNER TO "postgres";
ALTER SEQUENCE "billing"."invoice_numbers" OWNER TO "postgres";
ALTER TYPE "billing"."mood" OWNER TO "postgres";
ALTER TYPE "billing"."pair" OWNER TO "postgres";
ALTER DOMAIN "billing"."positive" OWNER TO "postgres";
ALTER FUNCTION "billing"."note_count"() OWNER TO "postgres";
COMMIT;
