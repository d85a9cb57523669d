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

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from schemasync.schema.loading import DEFAULT_SCHEMA
from schemasync.schema.model import ForeignKey, Schema, Table, UniqueConstraint

if TYPE_CHECKING:
    from sqlalchemy import MetaData

NAMEDATALEN = 63  # bytes PostgreSQL keeps of an identifier


def declared_names(metadata: MetaData) -> tuple[tuple[str, str, str], ...]:
    """(schema, table, name) of every constraint and index of the models whose name the models give."""
    from sqlalchemy import Constraint, Index, exc  # lazy: start-up (SQLAlchemy; only with models)
    from sqlalchemy.dialects import postgresql  # lazy: start-up (SQLAlchemy; only with models)

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


K = TypeVar("K", ForeignKey, UniqueConstraint)


def collapse_duplicates(schema: Schema) -> tuple[Schema, tuple[str, ...]]:
    """The models' schema with identical repeated foreign keys and unique constraints kept once, and why.

    A key declared twice, identically (`Column(ForeignKey(...))` plus a named `ForeignKeyConstraint` on
    the same column, or `unique=True` plus a named `UniqueConstraint`), is one key to the author, but
    `create_all` creates both: PostgreSQL names the unnamed one itself, and a database holding the key
    once would be planned a second copy. So the copies whose name nobody chose are dropped when an
    identical one remains (the declared-name one when there is one), each with a warning, like an
    index declared twice (`ddl._without_duplicates`). Two copies the models both name are both kept:
    someone chose each name.
    """
    if schema.declared_names is None:
        return schema, ()
    declared = set(schema.declared_names)
    warnings: list[str] = []
    tables = []
    for table in schema.tables:
        names = {name for s, t, name in declared if (s, t) == table.key}
        fks = _kept(table, table.foreign_keys, names, _fk_shape, kind="foreign key", warnings=warnings)
        uniques = _kept(table, table.uniques, names, _unique_shape, kind="unique constraint", warnings=warnings)
        changed = len(fks) != len(table.foreign_keys) or len(uniques) != len(table.uniques)
        tables.append(replace(table, foreign_keys=fks, uniques=uniques) if changed else table)
    if not warnings:
        return schema, ()
    return replace(schema, tables=tuple(tables)), tuple(warnings)


def _fk_shape(fk: ForeignKey) -> tuple[object, ...]:
    return (fk.columns, fk.ref_schema, fk.ref_table, fk.ref_columns, fk.on_delete, fk.on_update, fk.match_full,
            fk.deferrable, fk.initially_deferred)  # fmt: skip


def _unique_shape(u: UniqueConstraint) -> tuple[object, ...]:
    return (u.columns, u.deferrable, u.initially_deferred, u.nulls_not_distinct)


def _kept(
    table: Table,
    items: tuple[K, ...],
    names: set[str],
    shape: Callable[[K], tuple[object, ...]],
    *,
    kind: str,
    warnings: list[str],
) -> tuple[K, ...]:
    groups: dict[tuple[object, ...], list[K]] = {}
    for item in items:
        groups.setdefault(shape(item), []).append(item)
    dropped: set[str] = set()
    for group in groups.values():
        if len(group) < 2:
            continue
        chosen = [item for item in group if item.name in names]
        keep = chosen or group[:1]
        for item in group:
            if item not in keep and item.name not in names:
                dropped.add(item.name)
                warnings.append(
                    f"The models declare the {kind} on {table.qualified} ({', '.join(item.columns)}) twice, "
                    f"identically: it is kept once, as {keep[0].name}"
                )
    return tuple(item for item in items if item.name not in dropped) if dropped else items


def _as_stored(name: str) -> str:
    """The name as PostgreSQL stores it: at most 63 bytes, never a partial character."""
    raw = name.encode()
    return name if len(raw) <= NAMEDATALEN else raw[:NAMEDATALEN].decode(errors="ignore")
