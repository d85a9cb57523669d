CREATE TABLE people (id serial PRIMARY KEY, code varchar(50));
INSERT INTO people (code) VALUES ('abc'), ('abcdefgh');
