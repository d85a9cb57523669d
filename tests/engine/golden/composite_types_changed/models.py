"""Composite types from DDL events: a new one (its name needs quoting) created before the table using it, an
attribute added in place, a used attribute retyped by recreating the type with the values kept, and a hand-made
type left alone."""

from sqlalchemy import DDL, Column, Integer, MetaData, Table, event
from sqlalchemy.types import UserDefinedType


class Named(UserDefinedType):  # type: ignore[type-arg]
    cache_ok = True

    def __init__(self, spec: str) -> None:
        self.spec = spec

    def get_col_spec(self, **kw: object) -> str:
        return self.spec


metadata = MetaData()
event.listen(metadata, "before_create", DDL("CREATE TYPE money_amount AS (currency char(3), cents bigint, note text)"))
event.listen(
    metadata, "before_create", DDL('CREATE TYPE "Geo ""Point""" AS (lat double precision, lon double precision)')
)
Table("invoices", metadata, Column("id", Integer, primary_key=True), Column("total", Named("money_amount")))
Table("places", metadata, Column("id", Integer, primary_key=True), Column("at", Named('"Geo ""Point"""')))
