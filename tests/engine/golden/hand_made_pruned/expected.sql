BEGIN;
-- INDEX_DROPPED: drops the index behind items_sku_unique: queries using it on items may slow down
ALTER TABLE "public"."items" DROP CONSTRAINT "items_sku_unique";
ALTER TABLE "public"."items" DROP CONSTRAINT "items_qty_sane";
-- INDEX_DROPPED: queries on items that used items_qty_hand may slow down
DROP INDEX "public"."items_qty_hand";
-- DELETES_DATA: drops table stock_report and its 0 rows
DROP TABLE "public"."stock_report";
ALTER TABLE "public"."items" ALTER COLUMN "sku" TYPE character varying(40);
COMMENT ON COLUMN "public"."items"."sku" IS NULL;
COMMENT ON TABLE "public"."items" IS NULL;
COMMIT;
