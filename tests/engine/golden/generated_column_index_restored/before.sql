CREATE TABLE people (id serial PRIMARY KEY, a int, b int, s int GENERATED ALWAYS AS (a + b) STORED);
CREATE INDEX ix_people_s ON people (s);
INSERT INTO people (a, b) VALUES (2, 3);
