import sqlalchemy as sa
from sqlalchemy import DDL, event

metadata = sa.MetaData()
sa.Table(
    "docs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("owner", sa.Integer, nullable=False),
)
sa.Table("counts", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("notes", sa.BigInteger))
for ddl in (  # still declared, without docs.note: the trigger, a policy, a view; note_set, notes, note_count are not
    "CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$",
    "CREATE TRIGGER docs_touch BEFORE UPDATE OF owner ON public.docs FOR EACH ROW EXECUTE FUNCTION public.touch()",
    "ALTER TABLE public.docs ENABLE ROW LEVEL SECURITY",
    "CREATE POLICY own ON public.docs USING (owner = 1)",
    "CREATE POLICY noted ON public.docs USING (owner = 2)",
    "CREATE VIEW public.owners AS SELECT id, owner FROM public.docs",
):
    event.listen(metadata, "after_create", DDL(ddl))
