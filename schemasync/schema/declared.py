"""Which constraint and index names the models declare, as opposed to names nobody chose.

A constraint the models leave unnamed (`Column(..., unique=True)`, `ForeignKey("users.id")` without a
naming convention for it) is named by PostgreSQL when created (`users_email_key`, `posts_user_id_fkey`),
and a database built by a migration tool or by hand holds the same constraint under another name. Such
a name says nothing about the models, so the diff matches those objects by definition only
(`diff/undeclared.py`). A name given explicitly, or produced by the MetaData's naming convention
(SQLAlchemy's default convention names every `index=True` index `ix_<table>_<column>`), is declared and
still counts: a different live name is a rename.

The names are the ones SQLAlchemy emits (a naming-convention name longer than the identifier limit is
shortened by SQLAlchemy itself), cut to PostgreSQL's 63 bytes as the server does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from schemasync.schema.loading import DEFAULT_SCHEMA

if TYPE_CHECKING:
    from sqlalchemy import MetaData

NAMEDATALEN = 63  # bytes PostgreSQL keeps of an identifier


def declared_names(metadata: MetaData) -> tuple[tuple[str, str, str], ...]:
    """(schema, table, name) of every constraint and index of the models whose name the models give."""
    from sqlalchemy import Constraint, Index, exc
    from sqlalchemy.dialects import postgresql

    preparer = postgresql.dialect().identifier_preparer
    out: set[tuple[str, str, str]] = set()
    for table in metadata.tables.values():
        schema = table.schema or DEFAULT_SCHEMA
        items: list[Constraint | Index] = [*table.constraints, *table.indexes]
        for item in items:
            if item.name is None:
                continue  # PostgreSQL will choose (`_NONE_NAME` instead is a convention applied at compile time)
            try:
                name = preparer.format_constraint(item, _alembic_quote=False)
            except (exc.SQLAlchemyError, KeyError, IndexError, AttributeError, TypeError):
                # A convention that cannot be applied fails compilation with its own message.
                continue
            if name:
                out.add((schema, table.name, _as_stored(str(name))))
    return tuple(sorted(out))


def _as_stored(name: str) -> str:
    """The name as PostgreSQL stores it: at most 63 bytes, never a partial character."""
    raw = name.encode()
    return name if len(raw) <= NAMEDATALEN else raw[:NAMEDATALEN].decode(errors="ignore")
