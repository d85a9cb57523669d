CREATE TABLE teams (id serial PRIMARY KEY);
CREATE TABLE people (id serial PRIMARY KEY, team_id int);
INSERT INTO teams DEFAULT VALUES;
INSERT INTO people (team_id) VALUES (1), (NULL);
