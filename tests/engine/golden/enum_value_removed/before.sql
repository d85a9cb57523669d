CREATE TYPE mood AS ENUM ('sad', 'meh', 'ok');
CREATE TABLE people (id serial PRIMARY KEY, m mood DEFAULT 'ok');
INSERT INTO people (m) VALUES ('sad'), ('ok');
