CREATE EXTENSION citext VERSION '1.5';
CREATE EXTENSION hstore;  -- a DBA's, which the models do not declare
CREATE TABLE users (id serial PRIMARY KEY, email citext NOT NULL);
INSERT INTO users VALUES (1, 'a@x.org');
