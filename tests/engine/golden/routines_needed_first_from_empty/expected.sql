BEGIN;
CREATE OR REPLACE FUNCTION public."is ""ok"""(v integer)
 RETURNS boolean
 LANGUAGE sql
 IMMUTABLE
RETURN (v > 0);
CREATE OR REPLACE FUNCTION public.next_code()
 RETURNS text
 LANGUAGE plpgsql
AS $function$ BEGIN RETURN 'C-' || md5(random()::text); END $function$;
CREATE OR REPLACE FUNCTION public."norm'd"(t text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE
AS $function$ SELECT lower(t) $function$;
CREATE TABLE "public"."it's items" (
    "id" integer NOT NULL,
    "code" text DEFAULT public.next_code() NOT NULL,
    "qty" integer,
    "name" text,
    CONSTRAINT "it's items_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "qty_ok" CHECK (public."is ""ok"""(qty))
);
CREATE VIEW "public"."a view" AS
SELECT "it's items".id,
    "it's items".name
   FROM public."it's items";
CREATE OR REPLACE FUNCTION public."reads view"()
 RETURNS bigint
 LANGUAGE sql
 STABLE
AS $function$ SELECT count(*) FROM "a view" $function$;
CREATE VIEW "public"."calls fn" AS
SELECT public."reads view"() AS n;
CREATE INDEX "items_by_norm_name" ON "public"."it's items" USING btree (public."norm'd"(name));
COMMIT;
