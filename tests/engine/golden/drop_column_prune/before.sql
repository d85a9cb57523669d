CREATE TABLE people (id serial PRIMARY KEY, fax text);
INSERT INTO people (fax) VALUES ('1'), (NULL);
