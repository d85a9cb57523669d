"""A standalone sequence's options are changed in place."""

from sqlalchemy import MetaData, Sequence

metadata = MetaData()
Sequence("ticket_no", start=1, increment=5, maxvalue=100000, metadata=metadata)
