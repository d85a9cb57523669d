CREATE TABLE events (id serial PRIMARY KEY, counter integer);
INSERT INTO events (counter) SELECT g FROM generate_series(1, 50) g;
ANALYZE events;
