import sqlalchemy as sa
from sqlalchemy import DDL, event

metadata = sa.MetaData()
orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("amount", sa.Numeric(14, 2), nullable=False),
)
sa.Table(
    "stats",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("seen", sa.Numeric),  # no default: the DBA's one (calling total_amount) goes
)
for ddl in (  # declared: a function, a view and the materialized view on it (one index of its two)
    "CREATE FUNCTION public.total_amount() RETURNS numeric LANGUAGE sql STABLE"
    " BEGIN ATOMIC SELECT sum(amount) FROM public.orders; END",
    "CREATE VIEW public.paid AS SELECT id, status, amount FROM public.orders WHERE status <> 'new'",
    "CREATE MATERIALIZED VIEW public.totals AS SELECT status, sum(amount) AS total FROM public.paid GROUP BY status",
    "CREATE UNIQUE INDEX totals_status ON public.totals (status)",
):
    event.listen(metadata, "after_create", DDL(ddl))
