CREATE DOMAIN quantity AS integer DEFAULT 1 CONSTRAINT quantity_check CHECK (VALUE > 0);
CREATE DOMAIN hand_made AS text;  -- a DBA's, which the models do not declare
CREATE TABLE items (id serial PRIMARY KEY, qty quantity);
INSERT INTO items (qty) VALUES (5), (50), (500);
