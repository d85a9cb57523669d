BEGIN;
CREATE TABLE "public"."tags" (
    "id" serial NOT NULL,
    "name" text NOT NULL,
    CONSTRAINT "tags_pkey" PRIMARY KEY ("id")
);
GRANT INSERT ON TABLE "public"."docs" TO PUBLIC;
GRANT SELECT ON TABLE "public"."tags" TO PUBLIC;
-- CORRECTNESS: revokes DELETE on table docs from public: what it did with it fails
REVOKE DELETE ON TABLE "public"."docs" FROM PUBLIC;
COMMIT;
