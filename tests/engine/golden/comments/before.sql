CREATE TABLE people (id serial PRIMARY KEY, nick text);
