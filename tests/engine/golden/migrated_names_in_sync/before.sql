-- What a migration history leaves behind: other names throughout (a serial whose table was renamed
-- since, constraints named by hand, a primary key under a custom name).
CREATE TABLE orgs (id serial, name text NOT NULL, CONSTRAINT orgs_pk PRIMARY KEY (id));
CREATE TABLE old_users (
    id serial,
    email varchar(100) NOT NULL,
    org_id integer,
    age integer,
    CONSTRAINT pk_users_custom PRIMARY KEY (id),
    CONSTRAINT users_email_uq UNIQUE (email),
    CONSTRAINT age_positive CHECK (age > 0),
    CONSTRAINT fk_users_org FOREIGN KEY (org_id) REFERENCES orgs (id) ON DELETE CASCADE
);
ALTER TABLE old_users RENAME TO users;
CREATE INDEX ix_users_age ON users (age);
INSERT INTO orgs (name) VALUES ('acme');
INSERT INTO users (email, org_id, age) VALUES ('a@x', 1, 30), ('b@x', 1, 40);
