CREATE TABLE people (id serial PRIMARY KEY, nick varchar(20), n integer);
