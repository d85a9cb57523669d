BEGIN;
ALTER TYPE "public"."mood" ADD VALUE IF NOT EXISTS 'awful' BEFORE 'sad';
ALTER TYPE "public"."mood" ADD VALUE IF NOT EXISTS 'great' AFTER 'ok';
COMMIT;
