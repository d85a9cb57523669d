"""Names nobody chose: the models' unnamed constraints and serial sequences matched by definition only.

A constraint the models leave unnamed gets PostgreSQL's default name when the models are
materialised (`assessments_trace_id_fkey`, `users_pkey`), and a serial column's sequence gets one too
(`users_id_seq`). A database built by a migration tool, by hand, or before a table was renamed holds
the same objects under other names. Those names say nothing about the models, so before anything is
compared, each such object of the models takes the name of its live counterpart:
  1. a live object of the same kind on the same table and of the same definition (shape);
  2. failing that, the live object it replaces: the table's primary key; the unique constraint on the
     same columns; the foreign key from the same columns to the same table; the check on the same
     columns, so a changed definition is rebuilt instead of added beside the old one.
A live object already named by one of the models' objects is never taken. Names the models declare
(explicitly or by naming convention, `Schema.declared_names`) are not touched: a different live name
is a rename. On a table the plan renames (or whose columns it renames) nothing is adopted: the
default names follow the new name there, as a fresh `create_all` would have them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import replace
from typing import TypeVar

from schemasync.diff.constraints import check_shape, fk_shape, unique_shape
from schemasync.diff.expressions import index_shape
from schemasync.diff.names import identifiers, nextval_sequence
from schemasync.diff.renames import Renames
from schemasync.schema.model import CheckConstraint, Column, ForeignKey, Index, Schema, Table, UniqueConstraint

N = TypeVar("N", UniqueConstraint, ForeignKey, CheckConstraint, Index)


def adopt_live_names(
    current: Schema, desired: Schema, renames: Renames, *, equal: AbstractSet[tuple[str, str]] = frozenset()
) -> Schema:
    """`desired` with every undeclared name replaced by its live counterpart's (`current`: after renames).

    `equal`: keys of tables already equal on both sides, which have nothing to adopt."""
    if desired.declared_names is None:
        return desired
    declared: dict[tuple[str, str], set[str]] = {}
    for schema, table, name in desired.declared_names:
        declared.setdefault((schema, table), set()).add(name)
    moved = {(s, new) for s, _, new in renames.tables} | {(s, t) for s, t, _, _ in renames.columns}
    standalone = {q.key for q in current.sequences} | {q.key for q in desired.sequences}
    have = {t.key: t for t in current.tables}
    tables = []
    for des in desired.tables:
        cur = have.get(des.key)
        if cur is None or des.key in moved or des.key in equal:
            tables.append(des)
            continue
        tables.append(_adopt(cur, des, declared.get(des.key, set()), standalone))
    return replace(desired, tables=tuple(tables))


def _adopt(cur: Table, des: Table, declared: set[str], standalone: set[tuple[str, str]]) -> Table:
    """`des` with its undeclared names taken from `cur` (`declared`: the names its models give)."""

    def undeclared(name: str) -> bool:
        return name not in declared

    pk = des.primary_key
    if pk is not None and cur.primary_key is not None and pk.name != cur.primary_key.name and undeclared(pk.name):
        pk = replace(pk, name=cur.primary_key.name)
    names = {c.name: c for c in cur.columns}
    live_indexes = {id(i) for i in cur.indexes}

    def shape_of_index(i: Index) -> tuple[object, ...]:
        # keys and predicate in normal form, read against the index's own side's table (diff/expressions.py)
        return index_shape(i, cur if id(i) in live_indexes else des)

    columns = tuple(_serial(c, names.get(c.name), standalone) for c in des.columns)
    return _with(
        des,
        columns=des.columns if all(a is b for a, b in zip(columns, des.columns, strict=True)) else columns,
        primary_key=pk,
        uniques=_named(cur.uniques, des.uniques, undeclared, unique_shape, lambda u: u.columns),
        foreign_keys=_named(
            cur.foreign_keys, des.foreign_keys, undeclared, fk_shape, lambda f: (f.columns, f.ref_schema, f.ref_table)
        ),
        checks=_named(
            cur.checks,
            des.checks,
            undeclared,
            check_shape(cur, des),
            lambda k: frozenset(identifiers(k.expression) & names.keys()),
        ),
        indexes=_named(cur.indexes, des.indexes, undeclared, shape_of_index, None),
    )


def _with(des: Table, **parts: object) -> Table:
    """`des` itself when every part is the one it has (nothing adopted: the usual case on a large schema,
    where copying every table would cost more than the matching), else a copy with the parts."""
    if all(value is getattr(des, name) for name, value in parts.items()):
        return des
    return replace(des, **parts)  # type: ignore[arg-type]


def _serial(des: Column, cur: Column | None, standalone: set[tuple[str, str]]) -> Column:
    """A serial column's sequence is the column's own whatever its name: keep the live one's."""
    if cur is None or cur.default == des.default:
        return des
    want, have = nextval_sequence(des.default), nextval_sequence(cur.default)
    if want and have and want[0] == have[0] and want not in standalone and have not in standalone:
        return replace(des, default=cur.default)
    return des


def _named(
    have: Sequence[N],
    want: Sequence[N],
    undeclared: Callable[[str], bool],
    shape: Callable[[N], tuple[object, ...]],
    key: Callable[[N], object] | None,
) -> tuple[N, ...]:
    live = {x.name: x for x in have}
    claimed = {x.name for x in want if x.name in live}
    open_ = [x for x in want if undeclared(x.name) and x.name not in live]
    if not open_:
        return tuple(want)
    adopted: dict[int, str] = {}
    for matcher in (shape, key):
        if matcher is None:
            continue
        for x in open_:
            if id(x) in adopted:
                continue
            twin = next((y for y in have if y.name not in claimed and matcher(y) == matcher(x)), None)
            if twin is not None:
                adopted[id(x)] = twin.name
                claimed.add(twin.name)
    return tuple(replace(x, name=adopted[id(x)]) if id(x) in adopted else x for x in want)
