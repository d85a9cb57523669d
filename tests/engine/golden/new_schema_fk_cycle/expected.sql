BEGIN;
CREATE SCHEMA "app";
CREATE TABLE "app"."a" (
    "id" serial NOT NULL,
    "b_id" integer,
    CONSTRAINT "a_pkey" PRIMARY KEY ("id")
);
CREATE TABLE "app"."b" (
    "id" serial NOT NULL,
    "a_id" integer,
    CONSTRAINT "b_pkey" PRIMARY KEY ("id")
);
ALTER TABLE "app"."a" ADD CONSTRAINT "a_b" FOREIGN KEY ("b_id") REFERENCES "app"."b" ("id");
ALTER TABLE "app"."b" ADD CONSTRAINT "b_a" FOREIGN KEY ("a_id") REFERENCES "app"."a" ("id");
COMMIT;
