BEGIN;
-- CORRECTNESS: queries that still use the old name users fail once it is renamed to accounts
ALTER TABLE "public"."users" RENAME TO "accounts";
ALTER SEQUENCE "public"."users_id_seq" RENAME TO "accounts_id_seq";
ALTER TABLE "public"."accounts" RENAME CONSTRAINT "pk_users" TO "accounts_pkey";
COMMIT;
