CREATE TABLE people (id serial PRIMARY KEY, fullname text);
INSERT INTO people (fullname) VALUES ('Ada');
