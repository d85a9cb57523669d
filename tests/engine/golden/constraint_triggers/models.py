"""Constraint triggers declared with CREATE CONSTRAINT TRIGGER DDL events."""

from sqlalchemy import DDL, Column, ForeignKey, Integer, MetaData, Table, event

metadata = MetaData()
Table("accounts", metadata, Column("id", Integer, primary_key=True, autoincrement=False))
Table(
    "Ledger.v2",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("account_id", Integer, ForeignKey("accounts.id")),
    Column("amount", Integer),
)

for ddl in (
    "CREATE FUNCTION check_balance() RETURNS trigger LANGUAGE plpgsql "
    "AS $$ BEGIN IF NEW.amount < 0 THEN RAISE EXCEPTION 'negative'; END IF; RETURN NULL; END $$",
    'CREATE CONSTRAINT TRIGGER balance AFTER INSERT ON "Ledger.v2" DEFERRABLE INITIALLY DEFERRED '
    "FOR EACH ROW EXECUTE FUNCTION check_balance()",
    'CREATE CONSTRAINT TRIGGER "Account gone" AFTER DELETE ON accounts FROM "Ledger.v2" DEFERRABLE '
    "FOR EACH ROW EXECUTE FUNCTION check_balance()",
):
    event.listen(metadata, "after_create", DDL(ddl))
