CREATE SCHEMA "Sales.eu";
CREATE TYPE "Sales.eu".status AS ENUM ('new', 'paid');
CREATE TABLE "Sales.eu".orders (id serial PRIMARY KEY, status "Sales.eu".status);
