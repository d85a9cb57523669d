BEGIN;
GRANT UPDATE ("Title") ON TABLE "public"."docs" TO PUBLIC;
-- CORRECTNESS: revokes SELECT on table docs from public: what it did with it fails
REVOKE SELECT ON TABLE "public"."docs" FROM PUBLIC;
GRANT SELECT ("Title") ON TABLE "public"."docs" TO PUBLIC;
GRANT SELECT ("id") ON TABLE "public"."docs" TO PUBLIC;
COMMIT;
