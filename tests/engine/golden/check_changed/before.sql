CREATE TABLE people (id serial PRIMARY KEY, age int CONSTRAINT ck_age CHECK (age > 0));
