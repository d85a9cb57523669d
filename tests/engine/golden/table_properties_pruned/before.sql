CREATE TABLE booking (
    id serial PRIMARY KEY,
    room int4range NOT NULL,
    during tsrange NOT NULL,
    note text
);
CREATE INDEX ix_booking_note ON booking (note);
INSERT INTO booking (room, during) VALUES ('[1,2)', '[2024-01-01,2024-01-02)'), ('[2,3)', '[2024-01-01,2024-01-02)');
CREATE UNLOGGED TABLE audit (id serial PRIMARY KEY, body text);
-- a DBA's own: an exclusion constraint and storage parameters the models do not declare
ALTER TABLE booking ADD CONSTRAINT "dba's ""exclusion""" EXCLUDE USING gist (during WITH &&) WHERE (note IS NOT NULL);
ALTER TABLE booking SET (autovacuum_enabled = false);
ALTER INDEX ix_booking_note SET (deduplicate_items = off);
