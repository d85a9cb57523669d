BEGIN;
ALTER TABLE "public"."notes" FORCE ROW LEVEL SECURITY;
CREATE POLICY "no_empty_body" ON "public"."notes" AS RESTRICTIVE FOR INSERT TO PUBLIC WITH CHECK ((body <> ''::text));
ALTER POLICY "own_rows" ON "public"."notes" TO PUBLIC USING ((owner = SESSION_USER));
DROP POLICY "writers" ON "public"."notes";
CREATE POLICY "writers" ON "public"."notes" AS PERMISSIVE FOR INSERT TO PUBLIC WITH CHECK ((owner = CURRENT_USER));
COMMIT;
