CREATE TABLE people (id serial PRIMARY KEY, status text DEFAULT 'new', score int DEFAULT 0, team text);
