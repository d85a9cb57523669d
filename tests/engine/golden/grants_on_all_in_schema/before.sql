CREATE SCHEMA "Sales";
CREATE TABLE "Sales".orders (id serial PRIMARY KEY);
CREATE TABLE "Sales"."hand made" (id integer);
GRANT SELECT ON "Sales".orders TO PUBLIC;
