CREATE TABLE teams (id serial PRIMARY KEY, name text);
CREATE TABLE players (id serial PRIMARY KEY, team_id integer, nick text, score integer);
INSERT INTO teams (name) SELECT 'team ' || g FROM generate_series(1, 5) g;
INSERT INTO players (team_id, nick, score) SELECT 1 + g % 5, 'p' || g, g FROM generate_series(1, 50) g;
-- a failed online run: the helper check of nick is added but not validated,
ALTER TABLE players ADD CONSTRAINT schemasync_not_null_nick CHECK (nick IS NOT NULL) NOT VALID;
-- the foreign key is added NOT VALID,
ALTER TABLE players ADD CONSTRAINT fk_players_team FOREIGN KEY (team_id) REFERENCES teams (id) NOT VALID;
-- and the changed index's replacement is built (the old one is still there).
CREATE INDEX ix_players_score ON players (score);
CREATE INDEX ix_players_score_ssnew ON players (score, team_id);
ANALYZE teams;
ANALYZE players;
