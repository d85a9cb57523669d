"""Quoting: every identifier through psycopg.sql.Identifier, every value through sql.Literal.

Text that PostgreSQL itself rendered (types from format_type, defaults and check expressions from
pg_get_expr / pg_get_constraintdef, index keys from pg_get_indexdef) is already valid SQL and is
pasted as is; it never comes from user input, only from the catalog (ours or the scratch schemas
the models were materialised in). Everything else is quoted here, so a comment or an enum label
holding quotes, backslashes or semicolons stays one literal.
"""

from __future__ import annotations

from psycopg import sql


def ident(*names: str) -> str:
    """A (possibly qualified) identifier, always double-quoted: "schema"."table"."""
    return sql.Identifier(*names).as_string()


def literal(value: str | int | None) -> str:
    """A literal; strings with a backslash come out as E'...' (correct whatever standard_conforming_strings)."""
    return sql.Literal(value).as_string().strip()


def idents(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(ident(n) for n in names)


def raw(text: str) -> str:
    """SQL text that PostgreSQL rendered (see the module docstring): used verbatim."""
    return text
