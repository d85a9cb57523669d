BEGIN;
-- CORRECTNESS: updates extension citext from version 1.5 to 1.6: its update script may change the functions and operators the application uses
ALTER EXTENSION "citext" UPDATE TO '1.6';
CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA "public" CASCADE;
CREATE TABLE "public"."tokens" (
    "id" uuid DEFAULT public.uuid_generate_v4() NOT NULL,
    CONSTRAINT "tokens_pkey" PRIMARY KEY ("id")
);
COMMIT;
