BEGIN;
CREATE TYPE "Sales.eu"."Channel" AS ENUM ('web', 'shop');
ALTER TYPE "Sales.eu"."status" ADD VALUE IF NOT EXISTS 'it''s shipped' AFTER 'paid';
ALTER TABLE "Sales.eu"."orders" ADD COLUMN "channel" "Sales.eu"."Channel";
COMMIT;
