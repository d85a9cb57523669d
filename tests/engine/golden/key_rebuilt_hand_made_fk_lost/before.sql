CREATE TABLE teams (id int PRIMARY KEY, code text NOT NULL);
CREATE TABLE people (id serial PRIMARY KEY, team_id int CONSTRAINT fk_team REFERENCES teams (id));
INSERT INTO teams VALUES (1, 'a'), (2, 'b');
INSERT INTO people (team_id) VALUES (1), (2), (2);
