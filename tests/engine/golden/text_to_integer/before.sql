CREATE TABLE people (id serial PRIMARY KEY, age text);
INSERT INTO people (age) VALUES ('42'), (NULL);
