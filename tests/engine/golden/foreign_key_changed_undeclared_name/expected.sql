BEGIN;
ALTER TABLE "public"."users" DROP CONSTRAINT "fk_users_org";
ALTER TABLE "public"."users" ADD CONSTRAINT "fk_users_org" FOREIGN KEY ("org_id") REFERENCES "public"."orgs" ("id") ON DELETE SET NULL NOT VALID;
-- DATA_DEPENDENT: users has 0 rows pointing at missing orgs rows (foreign key fk_users_org): fix or remove them first
ALTER TABLE "public"."users" VALIDATE CONSTRAINT "fk_users_org";
COMMIT;
