"""With concurrent_indexes, indexes are created CONCURRENTLY after the transaction."""

from sqlalchemy import Column, Index, Integer, MetaData, Table, Text

metadata = MetaData()
jobs = Table("jobs", metadata, Column("id", Integer, primary_key=True), Column("queue", Text), Column("note", Text))
Index("ix_jobs_queue", jobs.c.queue)
