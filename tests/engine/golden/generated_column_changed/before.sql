CREATE TABLE people (id serial PRIMARY KEY, a int, b int, s int GENERATED ALWAYS AS (a + b) STORED);
