CREATE TABLE people (id serial PRIMARY KEY, email text, active boolean);
INSERT INTO people VALUES (1, 'a', true);
