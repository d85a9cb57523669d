CREATE TABLE accounts (id integer PRIMARY KEY);
CREATE TABLE "Ledger.v2" (id integer PRIMARY KEY, account_id integer REFERENCES accounts (id), amount integer);
CREATE FUNCTION check_balance() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN IF NEW.amount < 0 THEN RAISE EXCEPTION 'negative'; END IF; RETURN NULL; END $$;
CREATE CONSTRAINT TRIGGER balance AFTER INSERT ON "Ledger.v2" FOR EACH ROW EXECUTE FUNCTION check_balance();
