CREATE TABLE events (
    id integer NOT NULL,
    created_at date NOT NULL,
    body text,
    CONSTRAINT events_pkey PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE TABLE "events ""2024""" PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2024-07-01');
CREATE TABLE events_hand PARTITION OF events FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');
INSERT INTO events VALUES (1, '2024-02-01', 'a'), (2, '2030-02-01', 'made by hand');
-- a plain table the models declare as a partition: attached with its rows
CREATE TABLE events_2025 (id integer NOT NULL, created_at date NOT NULL, body text);
INSERT INTO events_2025 VALUES (3, '2025-02-01', 'c');
