"""Primary keys, unique, foreign key and check constraints of a table that exists on both sides.

Constraints are matched by name (names nobody chose have already been matched by definition, see
`diff/undeclared.py`). One the models do not have is renamed when a new one has the same shape (a
naming-convention change must not rebuild a primary key); otherwise it is not declared by the models
(a DBA's own constraint, or one the models dropped) and is left alone, dropped only with prune. A
changed one is dropped and added. Without prune, a constraint that involves a column the models do
not have belongs to that unmanaged column and is left alone with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar

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
from schemasync.diff.names import NOT_NULL_HELPER_PREFIX, identifiers, not_null_helper
from schemasync.diff.scope import CompareOptions
from schemasync.schema.model import CheckConstraint, ExclusionConstraint, ForeignKey, Table, UniqueConstraint

C = TypeVar("C", UniqueConstraint, ForeignKey, CheckConstraint, ExclusionConstraint)


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
    if old is not None and new is None and not options.prune:
        return []  # a key the models do not declare: left alone (see `kept_constraints`)
    if old is not None and not set(old.columns) & _unmanaged_columns(current, desired, options):
        out.append(DropPrimaryKey(s, t, old.name))
    elif old is not None and new is not None:
        return []  # the database's key involves an unmanaged column: leave it
    if new is not None:
        out.append(AddPrimaryKey(s, t, new))
    return out


def unique_shape(u: UniqueConstraint) -> tuple[object, ...]:
    return (u.columns, u.deferrable, u.initially_deferred, u.nulls_not_distinct)


def fk_shape(f: ForeignKey) -> tuple[object, ...]:
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


def check_shape(current: Table, desired: Table) -> Callable[[CheckConstraint], tuple[object, ...]]:
    """A check's shape: its expression in normal form, read against the table of its own side
    (`current`'s checks against `current`, the models' against `desired`; diff/expressions.py)."""
    live = {id(c) for c in current.checks}

    def shape(c: CheckConstraint) -> tuple[object, ...]:
        return (Expression(c.expression, current if id(c) in live else desired),)

    return shape


def compare_uniques(current: Table, desired: Table, options: CompareOptions) -> list[Change]:
    s, t = desired.schema, desired.name
    return _compare_named(
        current.uniques,
        desired.uniques,
        shape=unique_shape,
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
        shape=fk_shape,
        columns=lambda f: set(f.columns),
        current=current,
        desired=desired,
        options=options,
        drop=lambda f: DropForeignKey(s, t, f.name),
        add=lambda f: AddForeignKey(s, t, f),
    )


def not_null_helpers(current: Table, desired: Table) -> tuple[Table, list[Change]]:
    """`current` without the helper checks an online NOT NULL leaves while it runs (plan/online.py), and the
    drops of those whose column no longer waits for its NOT NULL (a run that failed after SET NOT NULL).
    A helper whose column still waits is the nullability change's to finish: it is neither reported nor
    dropped here."""
    if not any(k.name.startswith(NOT_NULL_HELPER_PREFIX) for k in current.checks):
        return current, []  # the usual case: no online NOT NULL under way (naming every column's helper costs)
    helpers = {not_null_helper(col.name): col for col in current.columns}
    ours = [k for k in current.checks if k.name in helpers]
    if not ours:
        return current, []
    wanted = {col.name: col for col in desired.columns}
    drops: list[Change] = []
    for k in ours:
        col = helpers[k.name]
        target = wanted.get(col.name)
        if not (col.nullable and target is not None and not target.nullable):
            drops.append(DropCheck(desired.schema, desired.name, k.name))
    return replace(current, checks=tuple(k for k in current.checks if k.name not in helpers)), drops


def compare_checks(current: Table, desired: Table, options: CompareOptions) -> list[Change]:
    s, t = desired.schema, desired.name
    current, drops = not_null_helpers(current, desired)
    return drops + _compare_named(
        current.checks,
        desired.checks,
        shape=check_shape(current, desired),
        columns=lambda c: identifiers(c.expression) & {col.name for col in current.columns},
        current=current,
        desired=desired,
        options=options,
        drop=lambda c: DropCheck(s, t, c.name),
        add=lambda c: AddCheck(s, t, c),
    )


@dataclass(slots=True)
class Matched(Generic[C]):
    """How one kind of constraint pairs up: renamed (old, new), not in the models, new, and kept by name."""

    renamed: list[tuple[C, C]] = field(default_factory=list)
    gone: list[C] = field(default_factory=list)
    fresh: list[C] = field(default_factory=list)
    common: list[tuple[C, C]] = field(default_factory=list)


def match_named(
    have: Iterable[C], want: Iterable[C], *, shape: Callable[[C], tuple[object, ...]], ignore: Callable[[C], bool]
) -> Matched[C]:
    """Pair the database's constraints with the models': by name, then a leftover pair of equal shape is a
    rename. `ignore`: database constraints that belong to something left alone (an unmanaged column)."""
    old = {c.name: c for c in have}
    new = {c.name: c for c in want}
    found: Matched[C] = Matched()
    found.gone = [c for name, c in old.items() if name not in new and not ignore(c)]
    found.fresh = [c for name, c in new.items() if name not in old]
    for c in list(found.fresh):
        twin = next((g for g in found.gone if shape(g) == shape(c)), None)
        if twin is not None:
            found.renamed.append((twin, c))
            found.gone.remove(twin)
            found.fresh.remove(c)
    found.common = [(old[name], c) for name, c in new.items() if name in old]
    return found


def kept_constraints(current: Table, desired: Table, options: CompareOptions) -> list[tuple[str, str]]:
    """(kind, name) of the database's constraints on this table that the models do not declare: left alone
    without prune (with prune, `compare_constraints` drops them)."""
    if options.prune:
        return []
    unmanaged = _unmanaged_columns(current, desired, options)
    out: list[tuple[str, str]] = []
    pk = current.primary_key
    if pk is not None and desired.primary_key is None and not set(pk.columns) & unmanaged:
        out.append(("primary key", pk.name))
    names = {col.name for col in current.columns}
    current = not_null_helpers(current, desired)[0]
    kinds: list[tuple[str, Matched[UniqueConstraint] | Matched[ForeignKey] | Matched[CheckConstraint]]] = [
        (
            "unique constraint",
            match_named(
                current.uniques, desired.uniques, shape=unique_shape, ignore=lambda u: bool(set(u.columns) & unmanaged)
            ),
        ),
        (
            "check constraint",
            match_named(
                current.checks,
                desired.checks,
                shape=check_shape(current, desired),
                ignore=lambda k: bool(identifiers(k.expression) & names & unmanaged),
            ),
        ),
        (
            "foreign key",
            match_named(
                current.foreign_keys,
                desired.foreign_keys,
                shape=fk_shape,
                ignore=lambda f: bool(set(f.columns) & unmanaged),
            ),
        ),
    ]
    for kind, found in kinds:
        out += [(kind, c.name) for c in found.gone]
    return out


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
    unmanaged = _unmanaged_columns(current, desired, options)
    found = match_named(have, want, shape=shape, ignore=lambda c: bool(columns(c) & unmanaged))
    out: list[Change] = []
    for twin, c in found.renamed:
        out.append(RenameConstraint(s, t, twin.name, c.name))
        if getattr(c, "validated", True) and not getattr(twin, "validated", True):
            out.append(ValidateConstraint(s, t, c.name))
    if options.prune:
        out.extend(drop(c) for c in found.gone)  # without prune they are left alone: `kept_constraints`
    for before, c in found.common:
        if shape(before) != shape(c):
            out += [drop(before), add(c)]
        elif getattr(c, "validated", True) and not getattr(before, "validated", True):
            out.append(ValidateConstraint(s, t, c.name))
    out.extend(add(c) for c in found.fresh)
    return out
