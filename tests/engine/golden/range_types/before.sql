CREATE SCHEMA "Lab.x";
CREATE TYPE public.textrange AS RANGE (SUBTYPE = text);
CREATE TYPE public.hand_range AS RANGE (SUBTYPE = date);
CREATE TABLE "Lab.x".readings (id integer PRIMARY KEY);
CREATE TABLE labels (id integer PRIMARY KEY);
