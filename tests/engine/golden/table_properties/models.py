"""Exclusion constraints, UNLOGGED and storage parameters added, changed and created with a new table."""

from sqlalchemy import Column, Index, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import INT4RANGE, TSRANGE, ExcludeConstraint

metadata = MetaData()
booking = Table(
    "booking",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("room", INT4RANGE, nullable=False),
    Column("during", TSRANGE, nullable=False),
    Column("note", Text),
    ExcludeConstraint(("room", "&&"), ("during", "&&"), name='no "double" booking', using="gist"),
    postgresql_with={"fillfactor": 70},
)
Index("ix_booking_note", booking.c.note, postgresql_with={"fillfactor": 60})
Table("audit", metadata, Column("id", Integer, primary_key=True), Column("body", Text))  # logged again
Table(
    "slots",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("during", TSRANGE, nullable=False),
    ExcludeConstraint(("during", "&&"), name="slots_no_overlap", using="gist"),
    prefixes=["UNLOGGED"],
    postgresql_with={"fillfactor": 80, "autovacuum_enabled": False},
)
