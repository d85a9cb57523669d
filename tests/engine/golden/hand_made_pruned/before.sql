CREATE TABLE items (
    id serial PRIMARY KEY,
    sku varchar(40) NOT NULL,
    qty integer NOT NULL,
    note text
);
COMMENT ON COLUMN items.note IS 'set by the models';
INSERT INTO items (sku, qty) VALUES ('a', 1), ('b', 2);
-- a DBA's own objects, which the models do not declare
CREATE INDEX items_qty_hand ON items (qty);
ALTER TABLE items ADD CONSTRAINT items_qty_sane CHECK (qty < 1000000);
ALTER TABLE items ADD CONSTRAINT items_sku_unique UNIQUE (sku);
COMMENT ON TABLE items IS 'owned by the stock team';
COMMENT ON COLUMN items.sku IS 'vendor code';
ALTER TABLE items ALTER COLUMN sku TYPE varchar(40) COLLATE "C";
CREATE TABLE stock_report (day date PRIMARY KEY, total bigint);
