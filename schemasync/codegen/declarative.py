"""sqlacodegen's declarative generator, taught the table properties and types schemasync manages.

Imported only through `schemasync.codegen`, which only `schemasync introspect` loads (inside the command:
sqlacodegen and SQLAlchemy are not for the `status` / `--help` path to pay for). What it adds to
sqlacodegen's output, in the forms README documents (Table properties, Partitioned tables, Domains, Composite types):

- `ExcludeConstraint(...)` in `__table_args__`, built from the catalog's definition (SQLAlchemy's
  reflection does not read exclusion constraints);
- `prefixes=['UNLOGGED']`, `postgresql_with={...}` and `postgresql_partition_by='...'` as table keywords;
- a domain column as `DOMAIN('name', <base type>, create_type=False)`: the domain itself is created by its
  `CREATE DOMAIN` event (`declarations.py`), once, whatever the number of columns using it;
- a composite column through the `UserDefinedType` class `declarations.composite_classes` writes.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlacodegen.generators import DeclarativeGenerator
from sqlalchemy.dialects.postgresql import DOMAIN
from sqlalchemy.types import UserDefinedType

_KEYWORD = re.compile(r"^[a-z_]+=")  # `schema='x'`, `comment=...`: a keyword argument of Table(...)


class Composite(UserDefinedType[Any]):
    """Stands for a column of a composite type until it is rendered as the generated class's name."""

    cache_ok = True

    def __init__(self, class_name: str) -> None:
        self.class_name = class_name

    def get_col_spec(self, **kw: object) -> str:
        return self.class_name


class Generator(DeclarativeGenerator):
    """`table_kwargs`: (schema, table) -> keywords for `__table_args__`; `exclusions`: (schema, table) ->
    its `ExcludeConstraint(...)` sources (rendered here, not placed on the reflected table: sqlacodegen
    refuses constraint kinds it does not know)."""

    def __init__(
        self,
        metadata: sa.MetaData,
        bind: sa.Connection,
        *,
        table_kwargs: dict[tuple[str, str], dict[str, object]],
        exclusions: dict[tuple[str, str], list[str]],
    ) -> None:
        # include_dialect_options makes sqlacodegen ask _add_dialect_kwargs_and_info for table keywords
        super().__init__(metadata, bind, ("include_dialect_options",))
        self.table_kwargs = table_kwargs
        self.exclusions = exclusions

    def _add_dialect_kwargs_and_info(
        self, obj: Any, target_kwargs: dict[str, object], *, values_for_dict: bool
    ) -> None:
        """Only the keywords we computed, and only for tables: reflection's own dialect options and info are
        not the schema as schemasync compares it."""
        if isinstance(obj, sa.Table):
            for key, value in self.table_kwargs.get((obj.schema or "public", obj.name), {}).items():
                target_kwargs[key] = value if values_for_dict else repr(value)

    def render_table_args(self, table: sa.Table) -> str:
        """sqlacodegen's `__table_args__` with the exclusion constraints first."""
        rendered = super().render_table_args(table)
        extra = self._exclusions(table)
        if not extra:
            return rendered
        head = "".join(f"{self.indentation}{x},\n" for x in extra)
        if not rendered:
            return f"(\n{head})"
        if rendered.startswith("{"):  # keywords only
            return f"(\n{head}{self.indentation}{rendered}\n)"
        return "(\n" + head + rendered.removeprefix("(\n")

    def render_table(self, table: sa.Table) -> str:
        """A table without a primary key is written as `Table(...)`, one argument a line: its exclusion
        constraints go after the columns (they name them) and before the keywords."""
        rendered = super().render_table(table)
        extra = self._exclusions(table)
        if not extra:
            return rendered
        separator = ",\n    "
        body = rendered.removesuffix("\n)")
        args = body.split(separator)
        at = next((i for i, arg in enumerate(args) if i and _KEYWORD.match(arg)), len(args))
        return separator.join([*args[:at], *extra, *args[at:]]) + "\n)"

    def _exclusions(self, table: sa.Table) -> list[str]:
        extra = self.exclusions.get((table.schema or "public", table.name), [])
        if extra:
            self.add_literal_import("sqlalchemy.dialects.postgresql", "ExcludeConstraint")
            self.add_literal_import("sqlalchemy", "text")
        return extra

    def collect_imports_for_column(self, column: sa.Column[Any]) -> None:
        kind = column.type.item_type if isinstance(column.type, sa.ARRAY) else column.type
        if isinstance(kind, Composite):
            self.add_literal_import("sqlalchemy.types", "UserDefinedType")  # the class written for the type
            if kind is not column.type:
                self.add_literal_import("sqlalchemy", "ARRAY")
            return
        super().collect_imports_for_column(column)

    def render_column_type(self, column: sa.Column[Any]) -> str:
        kind = column.type
        if isinstance(kind, sa.ARRAY) and isinstance(kind.item_type, Composite):
            return f"ARRAY({kind.item_type.class_name}())"
        if isinstance(kind, Composite):
            return f"{kind.class_name}()"
        if isinstance(kind, DOMAIN):
            base = super().render_column_type(sa.Column(column.name, kind.data_type))
            schema = f", schema={kind.schema!r}" if kind.schema not in (None, "public") else ""
            return f"DOMAIN({kind.name!r}, {base}{schema}, create_type=False)"
        return super().render_column_type(column)
