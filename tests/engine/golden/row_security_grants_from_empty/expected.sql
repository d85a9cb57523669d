BEGIN;
CREATE TABLE "public"."notes" (
    "id" serial NOT NULL,
    "owner" text NOT NULL,
    "body" text,
    CONSTRAINT "notes_pkey" PRIMARY KEY ("id")
);
ALTER TABLE "public"."notes" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "public"."notes" FORCE ROW LEVEL SECURITY;
CREATE POLICY "no_empty_body" ON "public"."notes" AS RESTRICTIVE FOR INSERT TO PUBLIC WITH CHECK ((body <> ''::text));
CREATE POLICY "own_rows" ON "public"."notes" AS PERMISSIVE FOR SELECT TO PUBLIC USING ((owner = CURRENT_USER));
GRANT USAGE ON SEQUENCE "public"."notes_id_seq" TO PUBLIC;
GRANT INSERT ON TABLE "public"."notes" TO PUBLIC;
GRANT SELECT ON TABLE "public"."notes" TO PUBLIC;
COMMIT;
