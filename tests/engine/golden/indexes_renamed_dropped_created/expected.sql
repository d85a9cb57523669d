BEGIN;
ALTER INDEX "public"."people_nick_idx" RENAME TO "ix_people_nick";
-- INDEX_DROPPED: queries on people that used people_age_idx may slow down
DROP INDEX "public"."people_age_idx";
CREATE INDEX "ix_people_lower_nick" ON "public"."people" USING btree (lower(nick));
COMMIT;
