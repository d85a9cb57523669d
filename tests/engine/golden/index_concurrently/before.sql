CREATE TABLE jobs (id serial PRIMARY KEY, queue text);
ANALYZE jobs;
