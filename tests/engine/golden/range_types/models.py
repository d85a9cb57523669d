"""Range types declared with CREATE TYPE ... AS RANGE DDL events; a column uses one through a UserDefinedType."""

from typing import Any

from sqlalchemy import DDL, Column, Integer, MetaData, Table, event
from sqlalchemy.types import UserDefinedType


class FloatRange(UserDefinedType[Any]):
    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return '"Lab.x"."Float range"'


metadata = MetaData()
for ddl in (
    'CREATE TYPE "Lab.x"."Float range" AS RANGE (SUBTYPE = float8, SUBTYPE_DIFF = float8mi)',
    'CREATE TYPE public.textrange AS RANGE (SUBTYPE = text, COLLATION = "C")',
):
    event.listen(metadata, "before_create", DDL(ddl))
Table(
    "readings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("span", FloatRange()),
    schema="Lab.x",
)
Table("labels", metadata, Column("id", Integer, primary_key=True, autoincrement=False))
