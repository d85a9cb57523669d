CREATE TABLE jobs (id serial PRIMARY KEY, state text, queue text, created int);
CREATE INDEX ix_jobs_open ON jobs (id) WHERE state = 'open';
CREATE INDEX ix_jobs_queue ON jobs (queue);
