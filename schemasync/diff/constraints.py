"""Primary keys, unique, foreign key and check constraints of a table that exists on both sides.

Constraints are matched by name. One the models no longer have is renamed when a new one has the
same shape (a naming-convention change must not rebuild a primary key), otherwise dropped; a
changed one is dropped and added. Without prune, a constraint that involves a column the models
do not have belongs to that unmanaged column and is left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from schemasync.diff.changes import (
    AddCheck,
    AddForeignKey,
    AddPrimaryKey,
    AddUnique,
    Change,
    DropCheck,
    DropForeignKey,
    DropPrimaryKey,
    DropUnique,
    RenameConstraint,
    ValidateConstraint,
)
from schemasync.diff.expressions import Expression
from schemasync.diff.names import identifiers
from schemasync.diff.scope import CompareOptions
from schemasync.schema.model import CheckConstraint, ForeignKey, Table, UniqueConstraint

C = TypeVar("C", UniqueConstraint, ForeignKey, CheckConstraint)


def compare_constraints(current: Table, desired: Table, options: CompareOptions) -> list[Change]:
    return [
        *compare_primary_key(current, desired, options),
        *compare_uniques(current, desired, options),
        *compare_checks(current, desired, options),
        *compare_foreign_keys(current, desired, options),
    ]


def _unmanaged_columns(current: Table, desired: Table, options: CompareOptions) -> set[str]:
    if options.prune:
        return set()
    wanted = {c.name for c in desired.columns}
    return {c.name for c in current.columns if c.name not in wanted}


def compare_primary_key(current: Table, desired: Table, options: CompareOptions) -> list[Change]:
    old, new = current.primary_key, desired.primary_key
    s, t = desired.schema, desired.name
    if old == new:
        return []
    if old is not None and new is not None and old.columns == new.columns:
        return [RenameConstraint(s, t, old.name, new.name)]
    out: list[Change] = []
    if old is not None and not set(old.columns) & _unmanaged_columns(current, desired, options):
        out.append(DropPrimaryKey(s, t, old.name))
    elif old is not None and new is not None:
        return []  # the database's key involves an unmanaged column: leave it
    if new is not None:
        out.append(AddPrimaryKey(s, t, new))
    return out


def _unique_shape(u: UniqueConstraint) -> tuple[object, ...]:
    return (u.columns, u.deferrable, u.initially_deferred, u.nulls_not_distinct)


def _fk_shape(f: ForeignKey) -> tuple[object, ...]:
    return (
        f.columns,
        f.ref_schema,
        f.ref_table,
        f.ref_columns,
        f.on_delete,
        f.on_update,
        f.match_full,
        f.deferrable,
        f.initially_deferred,
    )


def compare_uniques(current: Table, desired: Table, options: CompareOptions) -> list[Change]:
    s, t = desired.schema, desired.name
    return _compare_named(
        current.uniques,
        desired.uniques,
        shape=_unique_shape,
        columns=lambda u: set(u.columns),
        current=current,
        desired=desired,
        options=options,
        drop=lambda u: DropUnique(s, t, u.name),
        add=lambda u: AddUnique(s, t, u),
    )


def compare_foreign_keys(current: Table, desired: Table, options: CompareOptions) -> list[Change]:
    s, t = desired.schema, desired.name
    return _compare_named(
        current.foreign_keys,
        desired.foreign_keys,
        shape=_fk_shape,
        columns=lambda f: set(f.columns),
        current=current,
        desired=desired,
        options=options,
        drop=lambda f: DropForeignKey(s, t, f.name),
        add=lambda f: AddForeignKey(s, t, f),
    )


def compare_checks(current: Table, desired: Table, options: CompareOptions) -> list[Change]:
    s, t = desired.schema, desired.name
    old_checks = {id(c) for c in current.checks}

    def shape(c: CheckConstraint) -> tuple[object, ...]:
        # compared in normal form, read against the table it belongs to (diff/expressions.py)
        return (Expression(c.expression, current if id(c) in old_checks else desired),)

    return _compare_named(
        current.checks,
        desired.checks,
        shape=shape,
        columns=lambda c: identifiers(c.expression) & {col.name for col in current.columns},
        current=current,
        desired=desired,
        options=options,
        drop=lambda c: DropCheck(s, t, c.name),
        add=lambda c: AddCheck(s, t, c),
    )


def _compare_named(
    have: Iterable[C],
    want: Iterable[C],
    *,
    shape: Callable[[C], tuple[object, ...]],
    columns: Callable[[C], set[str]],
    current: Table,
    desired: Table,
    options: CompareOptions,
    drop: Callable[[C], Change],
    add: Callable[[C], Change],
) -> list[Change]:
    s, t = desired.schema, desired.name
    old = {c.name: c for c in have}
    new = {c.name: c for c in want}
    unmanaged = _unmanaged_columns(current, desired, options)
    out: list[Change] = []
    gone = [c for name, c in old.items() if name not in new and not columns(c) & unmanaged]
    fresh = [c for name, c in new.items() if name not in old]
    for c in list(fresh):
        twin = next((g for g in gone if shape(g) == shape(c)), None)
        if twin is not None:
            out.append(RenameConstraint(s, t, twin.name, c.name))
            if getattr(c, "validated", True) and not getattr(twin, "validated", True):
                out.append(ValidateConstraint(s, t, c.name))
            gone.remove(twin)
            fresh.remove(c)
    out.extend(drop(c) for c in gone)
    for name, c in new.items():
        if name not in old:
            continue
        before = old[name]
        if shape(before) != shape(c):
            out += [drop(before), add(c)]
        elif getattr(c, "validated", True) and not getattr(before, "validated", True):
            out.append(ValidateConstraint(s, t, name))
    out.extend(add(c) for c in fresh)
    return out
