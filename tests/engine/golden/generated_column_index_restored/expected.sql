BEGIN;
ALTER TABLE "public"."people" DROP COLUMN "s";
ALTER TABLE "public"."people" ADD COLUMN "s" integer GENERATED ALWAYS AS ((a * b)) STORED;
CREATE INDEX "ix_people_s" ON "public"."people" USING btree (s);
COMMIT;
