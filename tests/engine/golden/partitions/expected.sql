BEGIN;
ALTER TABLE "public"."events" DETACH PARTITION "public"."events ""2024""";
CREATE TABLE "public"."metrics" (
    "region" text NOT NULL,
    "value" integer
) PARTITION BY LIST (region);
-- DATA_DEPENDENT: attaching events "2024" to events fails if any of its rows is outside FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') (not counted)
ALTER TABLE "public"."events" ATTACH PARTITION "public"."events ""2024""" FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
-- DATA_DEPENDENT: attaching events_2025 to events fails if any of its rows is outside FOR VALUES FROM ('2025-01-01') TO ('2026-01-01') (not counted)
ALTER TABLE "public"."events" ATTACH PARTITION "public"."events_2025" FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE "public"."events_default" PARTITION OF "public"."events" DEFAULT;
CREATE TABLE "public"."metrics_eu" PARTITION OF "public"."metrics" FOR VALUES IN ('eu', 'uk');
CREATE TABLE "public"."metrics_us" PARTITION OF "public"."metrics" FOR VALUES IN ('us');
COMMIT;
