CREATE TABLE teams (id int PRIMARY KEY, code text NOT NULL);
CREATE TABLE people (id serial PRIMARY KEY, team_id int CONSTRAINT fk_team REFERENCES teams (id));
