CREATE TABLE runs (
    id int PRIMARY KEY,
    status varchar(5),
    kind varchar(10),
    label varchar(30),
    CONSTRAINT runs_status CHECK (status IN ('queued', 'running', 'done')),
    CONSTRAINT runs_label_check CHECK (label IN ('x', 'y'))
);
CREATE INDEX ix_runs_open ON runs (id) WHERE kind IN ('a', 'b');
CREATE INDEX ix_runs_kind_lower ON runs (lower(kind));
-- later migrations widen the columns: PostgreSQL re-parses every expression on them
ALTER TABLE runs ALTER COLUMN status TYPE varchar(7);
ALTER TABLE runs ALTER COLUMN kind TYPE varchar(20);

CREATE TABLE events (
    id int PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz DEFAULT transaction_timestamp(),
    seen_at timestamptz DEFAULT now(),
    day date DEFAULT ('now'::text)::date,
    local_at timestamp DEFAULT LOCALTIMESTAMP,
    naive_at timestamp DEFAULT CURRENT_TIMESTAMP,
    utc_at timestamp DEFAULT timezone('utc', now()),
    label varchar(20) DEFAULT 'x'::text,
    note text DEFAULT 'n'::character varying,
    amount numeric(10, 2) DEFAULT '0'::numeric,
    ratio numeric DEFAULT (1)::numeric,
    retries integer DEFAULT '-1'::integer,
    active boolean DEFAULT 'true'::boolean,
    code varchar(10) DEFAULT 'c',
    slug text GENERATED ALWAYS AS (lower(code)) STORED
);
-- a later migration widens a column; its default keeps its old spelling
ALTER TABLE events ALTER COLUMN label TYPE varchar(40);
