CREATE TABLE orders (id serial PRIMARY KEY, total numeric NOT NULL);
CREATE TABLE hand_made (id integer);
