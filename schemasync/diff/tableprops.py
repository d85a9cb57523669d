"""Table properties: EXCLUDE constraints, UNLOGGED / LOGGED, and storage parameters of tables and indexes.

Exclusion constraints are matched by name like the other constraints (`diff/constraints.py`): a pair
of equal definition under another name is a rename, a changed definition is dropped and added, one
the models do not declare is left alone (dropped only with prune), as is one on a column the models
do not have. Definitions are compared in normal form (`diff/expressions.py`), since PostgreSQL's
rendering of the predicate is not a fixed point.

Persistence always follows the models: a table they declare without `prefixes=["UNLOGGED"]` is a
logged table, and an unlogged copy (emptied after a crash, never replicated) is set LOGGED.

Storage parameters the models declare (`postgresql_with`) are set when missing or different; one
the database has and the models leave unset is left alone, like a comment (reset with prune).
Index parameters are changed in place (ALTER INDEX ... SET) when the index is otherwise kept; an
index that is rebuilt gets them from its CREATE INDEX.
"""

from __future__ import annotations

from collections.abc import Callable

from schemasync.diff.changes import (
    AddExclusion,
    AlterIndexOptions,
    AlterTableOptions,
    AlterTablePersistence,
    Change,
    CreateIndex,
    DropExclusion,
    RenameConstraint,
    RenameIndex,
)
from schemasync.diff.constraints import Matched, match_named
from schemasync.diff.expressions import constraint_form, string_columns
from schemasync.diff.names import identifiers
from schemasync.diff.scope import CompareOptions
from schemasync.schema.model import ExclusionConstraint, Table


def compare_table_properties(
    current: Table, desired: Table, options: CompareOptions, planned: list[Change]
) -> list[Change]:
    """`planned`: the table's other changes, to see which indexes are renamed or rebuilt anyway."""
    return [
        *compare_exclusions(current, desired, options),
        *_persistence(current, desired),
        *_table_options(current, desired, options),
        *_index_options(current, desired, options, planned),
    ]


def exclusion_shape(current: Table, desired: Table) -> Callable[[ExclusionConstraint], tuple[object, ...]]:
    """An exclusion's shape: its definition in normal form, read against the table of its own side."""
    live = {id(x) for x in current.exclusions}

    def shape(x: ExclusionConstraint) -> tuple[object, ...]:
        return (constraint_form(x.definition, string_columns(current if id(x) in live else desired)),)

    return shape


def _unmanaged_columns(current: Table, desired: Table, options: CompareOptions) -> set[str]:
    if options.prune:
        return set()
    wanted = {col.name for col in desired.columns}
    return {col.name for col in current.columns if col.name not in wanted}


def _match(current: Table, desired: Table, options: CompareOptions) -> Matched[ExclusionConstraint]:
    unmanaged = _unmanaged_columns(current, desired, options)
    return match_named(
        current.exclusions,
        desired.exclusions,
        shape=exclusion_shape(current, desired),
        ignore=lambda x: bool(identifiers(x.definition) & unmanaged),
    )


def compare_exclusions(current: Table, desired: Table, options: CompareOptions) -> list[Change]:
    s, t = desired.schema, desired.name
    shape = exclusion_shape(current, desired)
    found = _match(current, desired, options)
    out: list[Change] = [RenameConstraint(s, t, twin.name, x.name) for twin, x in found.renamed]
    if options.prune:
        out += [DropExclusion(s, t, x.name) for x in found.gone]
    for before, x in found.common:
        if shape(before) != shape(x):
            out += [DropExclusion(s, t, before.name), AddExclusion(s, t, x)]
    out += [AddExclusion(s, t, x) for x in found.fresh]
    return out


def _persistence(current: Table, desired: Table) -> list[Change]:
    if current.unlogged == desired.unlogged:
        return []
    return [AlterTablePersistence(desired.schema, desired.name, desired.unlogged)]


def parse_options(options: tuple[str, ...]) -> dict[str, str]:
    """reloptions ("fillfactor=70") as name -> value."""
    return dict(option.partition("=")[::2] for option in options)


def _option_changes(
    have: tuple[str, ...], want: tuple[str, ...], prune: bool
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(options to set, names to reset) to bring `have` to `want`; undeclared ones are reset only with prune."""
    old, new = parse_options(have), parse_options(want)
    to_set = tuple(f"{k}={v}" for k, v in sorted(new.items()) if old.get(k) != v)
    to_reset = tuple(sorted(k for k in old if k not in new)) if prune else ()
    return to_set, to_reset


def _table_options(current: Table, desired: Table, options: CompareOptions) -> list[Change]:
    to_set, to_reset = _option_changes(current.options, desired.options, options.prune)
    if not to_set and not to_reset:
        return []
    return [AlterTableOptions(desired.schema, desired.name, to_set, to_reset)]


def _index_options(current: Table, desired: Table, options: CompareOptions, planned: list[Change]) -> list[Change]:
    rebuilt = {x.index.name for x in planned if isinstance(x, CreateIndex)}
    renamed = {x.new: x.old for x in planned if isinstance(x, RenameIndex)}
    have = {i.name: i for i in current.indexes}
    out: list[Change] = []
    for index in desired.indexes:
        before = have.get(renamed.get(index.name, index.name))
        if before is None or index.name in rebuilt:
            continue
        to_set, to_reset = _option_changes(before.options, index.options, options.prune)
        if to_set or to_reset:
            out.append(AlterIndexOptions(desired.schema, desired.name, index.name, to_set, to_reset))
    return out


def kept_properties(current: Table, desired: Table, options: CompareOptions) -> list[tuple[str, str, str]]:
    """(kind, name, note) of what the database has on this table and the models do not declare: left alone
    without prune (with prune, `compare_table_properties` drops or resets it)."""
    if options.prune:
        return []
    out = [("exclusion constraint", x.name, "") for x in _match(current, desired, options).gone]
    wanted = parse_options(desired.options)
    out += [
        ("storage parameter", k, f"{k}={v}")
        for k, v in sorted(parse_options(current.options).items())
        if k not in wanted
    ]
    declared = {i.name: parse_options(i.options) for i in desired.indexes}
    for index in current.indexes:
        if index.name not in declared:
            continue  # the index itself is left alone or rebuilt
        out += [
            ("index storage parameter", index.name, f"{k}={v}")
            for k, v in sorted(parse_options(index.options).items())
            if k not in declared[index.name]
        ]
    return out
