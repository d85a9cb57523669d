BEGIN;
CREATE TYPE "public"."kind" AS ENUM ('x', 'y');
CREATE SEQUENCE "public"."ticket_no" AS bigint INCREMENT BY 10 NO MINVALUE NO MAXVALUE START WITH 100 CACHE 1 NO CYCLE;
CREATE TABLE "public"."people" (
    "id" serial NOT NULL,
    "kind" public.kind,
    CONSTRAINT "people_pkey" PRIMARY KEY ("id")
);
DROP TYPE "public"."old_kind";
-- CORRECTNESS: drops sequence old_seq: its current position is lost
DROP SEQUENCE "public"."old_seq";
COMMIT;
