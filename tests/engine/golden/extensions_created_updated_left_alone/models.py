"""Extensions declared by DDL events: one created (its name needs quoting) before the table using it, a pinned
version updated to, and a hand-made one left alone and listed."""

from sqlalchemy import DDL, Column, Integer, MetaData, Table, event, text
from sqlalchemy.dialects.postgresql import CITEXT, UUID

metadata = MetaData()
event.listen(metadata, "before_create", DDL("CREATE EXTENSION IF NOT EXISTS citext VERSION '1.6'"))
event.listen(metadata, "before_create", DDL('CREATE EXTENSION IF NOT EXISTS "uuid-ossp"'))
Table("users", metadata, Column("id", Integer, primary_key=True), Column("email", CITEXT, nullable=False))
Table("tokens", metadata, Column("id", UUID, primary_key=True, server_default=text("uuid_generate_v4()")))
