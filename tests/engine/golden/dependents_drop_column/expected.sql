BEGIN;
-- CORRECTNESS: drops view notes, which the models do not declare: queries using it fail afterwards
DROP VIEW "public"."notes";
-- CORRECTNESS: drops view owners and re-creates it later in this transaction (it depends on column docs.note, which is dropped)
DROP VIEW "public"."owners";
-- CORRECTNESS: drops policy noted on public.docs and re-creates it later in this transaction (it uses column docs.note, which is dropped)
DROP POLICY "noted" ON "public"."docs";
-- CORRECTNESS: drops trigger docs_touch on public.docs and re-creates it later in this transaction (it uses column docs.note, which is dropped)
DROP TRIGGER "docs_touch" ON "public"."docs";
-- CORRECTNESS: drops trigger note_set on public.docs (it uses column docs.note, which is dropped): the models do not declare it, so it is not re-created; what it did on each write stops
DROP TRIGGER "note_set" ON "public"."docs";
-- CORRECTNESS: takes the default of counts.notes off (it calls note_count(), which is dropped; the models declare no default there, so it is not put back)
ALTER TABLE "public"."counts" ALTER COLUMN "notes" DROP DEFAULT;
-- CORRECTNESS: drops function public.note_count() (it uses column docs.note, which is dropped): the models do not declare it, so it is not re-created; whatever calls it fails
DROP FUNCTION "public"."note_count"();
-- DELETES_DATA: drops column docs.note and its values in 2 rows
ALTER TABLE "public"."docs" DROP COLUMN "note";
-- CORRECTNESS: re-creates view owners dropped earlier in this transaction (it depends on column docs.note, which is dropped)
CREATE VIEW "public"."owners" AS
SELECT docs.id,
    docs.owner
   FROM public.docs;
CREATE TRIGGER docs_touch BEFORE UPDATE OF owner ON public.docs FOR EACH ROW EXECUTE FUNCTION public.touch();
CREATE POLICY "noted" ON "public"."docs" AS PERMISSIVE FOR ALL TO PUBLIC USING ((owner = 2));
COMMIT;
