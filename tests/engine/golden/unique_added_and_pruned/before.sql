CREATE TABLE people (id serial PRIMARY KEY, email text, nick text CONSTRAINT old_nick UNIQUE);
INSERT INTO people (email) VALUES ('a'), ('b');
