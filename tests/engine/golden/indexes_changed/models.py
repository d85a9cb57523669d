"""A partial index whose predicate changed and an index whose columns changed are rebuilt; a unique index is added."""

from sqlalchemy import Column, Index, Integer, MetaData, Table, Text, text

metadata = MetaData()
jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("state", Text),
    Column("queue", Text),
    Column("created", Integer),
)
Index("ix_jobs_open", jobs.c.id, postgresql_where=text("state IN ('open', 'retry')"))
Index("ix_jobs_queue", jobs.c.queue, jobs.c.created)
Index("ux_jobs_queue_id", jobs.c.queue, jobs.c.id, unique=True)
