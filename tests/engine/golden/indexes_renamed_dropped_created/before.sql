CREATE TABLE people (id serial PRIMARY KEY, nick text, age int);
CREATE INDEX people_nick_idx ON people (nick);
CREATE INDEX people_age_idx ON people (age);
