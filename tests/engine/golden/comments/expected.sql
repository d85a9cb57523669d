BEGIN;
COMMENT ON COLUMN "public"."people"."nick" IS 'what friends say; it''s short';
COMMENT ON TABLE "public"."people" IS E'People\\ we know';
COMMIT;
