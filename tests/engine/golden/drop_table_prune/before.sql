CREATE TABLE people (id serial PRIMARY KEY);
CREATE TABLE old_audit (id serial PRIMARY KEY, note text);
INSERT INTO old_audit (note) VALUES ('a'), ('b'), ('c');
