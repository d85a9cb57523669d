CREATE TYPE money_amount AS (currency char(3), cents integer);
CREATE TYPE hand_made AS (a int);  -- a DBA's, which the models do not declare
CREATE TABLE invoices (id serial PRIMARY KEY, total money_amount);
INSERT INTO invoices (total) VALUES (ROW('EUR', 1250)), (NULL);
