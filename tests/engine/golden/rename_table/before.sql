CREATE TABLE users (id serial, email text, CONSTRAINT pk_users PRIMARY KEY (id));
INSERT INTO users (email) VALUES ('a');
