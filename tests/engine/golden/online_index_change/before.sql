CREATE TABLE orders (id serial PRIMARY KEY, customer integer, placed date, state text);
CREATE INDEX ix_orders_customer ON orders (customer);
INSERT INTO orders (customer, placed, state) SELECT g % 10, date '2024-01-01' + g, 'new' FROM generate_series(1, 50) g;
ANALYZE orders;
