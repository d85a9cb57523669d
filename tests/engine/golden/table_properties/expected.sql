BEGIN;
CREATE UNLOGGED TABLE "public"."slots" (
    "id" serial NOT NULL,
    "during" tsrange NOT NULL,
    CONSTRAINT "slots_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "slots_no_overlap" EXCLUDE USING gist (during WITH &&)
) WITH (autovacuum_enabled = 'false', fillfactor = '80');
ALTER TABLE "public"."audit" SET LOGGED;
ALTER TABLE "public"."booking" SET (fillfactor = '70');
-- DATA_DEPENDENT: exclusion constraint no "double" booking fails if existing rows of booking conflict under it (not counted: remove the conflicting rows first)
ALTER TABLE "public"."booking" ADD CONSTRAINT "no ""double"" booking" EXCLUDE USING gist (room WITH &&, during WITH &&);
ALTER INDEX "public"."ix_booking_note" SET (fillfactor = '60');
COMMIT;
