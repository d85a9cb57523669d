"""Standalone indexes of a table that exists on both sides (indexes behind keys live with the keys).

Matched by name; renamed when only the name changed (same shape), rebuilt when the shape changed or
the database's copy is invalid (a CREATE INDEX CONCURRENTLY that failed half way). An index the
models do not declare (a DBA's own, or one the models dropped) is left alone, dropped only with
prune; without prune, an index on a column the models do not have belongs to that column.
"""

from __future__ import annotations

from schemasync.diff.changes import Change, CreateIndex, DropIndex, RenameIndex
from schemasync.diff.expressions import same_index
from schemasync.diff.names import identifiers, rebuild_name
from schemasync.diff.scope import CompareOptions
from schemasync.schema.model import Index, Table


def compare_indexes(current: Table, desired: Table, options: CompareOptions, taken: set[str]) -> list[Change]:
    """`taken`: relation names already used in the schema, which a rename must not collide with."""
    s, t = desired.schema, desired.name
    renamed, gone, fresh, common = _match(current, desired, options, taken)
    out: list[Change] = [RenameIndex(s, t, twin.name, i.name) for twin, i in renamed]
    if options.prune:
        out.extend(DropIndex(s, t, i.name) for i in gone)  # without prune they are left alone: `kept_indexes`
    rebuilt: set[str] = set()
    for before, i in common:
        if not same_index(before, current, i, desired) or not before.valid:
            out += [DropIndex(s, t, i.name), CreateIndex(s, t, i)]
            rebuilt.add(i.name)
    out.extend(CreateIndex(s, t, i) for i in fresh)
    # A replacement an online rebuild left under its temporary name (plan/online.py): the rebuild still
    # pending picks it up; otherwise it is a leftover, dropped.
    taken_over = {twin.name for twin, _ in renamed}
    out.extend(
        DropIndex(s, t, name)
        for name, base in _leftovers(current, desired).items()
        if base not in rebuilt and name not in taken_over
    )
    return out


def _leftovers(current: Table, desired: Table) -> dict[str, str]:
    """Indexes of the database named as the online replacement of a declared index: name -> declared name."""
    names = {i.name for i in current.indexes}
    return {rebuild_name(i.name): i.name for i in desired.indexes if rebuild_name(i.name) in names}


def kept_indexes(current: Table, desired: Table, options: CompareOptions, taken: set[str]) -> list[str]:
    """Names of the database's indexes on this table that the models do not declare: left alone without prune."""
    return [] if options.prune else [i.name for i in _match(current, desired, options, taken)[1]]


def _match(
    current: Table, desired: Table, options: CompareOptions, taken: set[str]
) -> tuple[list[tuple[Index, Index]], list[Index], list[Index], list[tuple[Index, Index]]]:
    """(renamed (old, new), in the database only, in the models only, matched by name)."""
    old = {i.name: i for i in current.indexes}
    new = {i.name: i for i in desired.indexes}
    unmanaged: set[str] = set()
    if not options.prune:
        wanted = {c.name for c in desired.columns}
        unmanaged = {c.name for c in current.columns if c.name not in wanted}
    gone = [i for name, i in old.items() if name not in new and not index_columns(i) & unmanaged]
    fresh = [i for name, i in new.items() if name not in old]
    renamed: list[tuple[Index, Index]] = []
    for i in list(fresh):
        twin = next((g for g in gone if g.valid and same_index(g, current, i, desired)), None)
        if twin is not None and i.name not in taken:
            renamed.append((twin, i))
            gone.remove(twin)
            fresh.remove(i)
    leftovers = _leftovers(current, desired)
    gone = [g for g in gone if g.name not in leftovers]
    return renamed, gone, fresh, [(old[name], i) for name, i in new.items() if name in old]


def index_columns(index: Index) -> set[str]:
    """The identifiers an index's keys, INCLUDE list and predicate mention: a superset of its columns."""
    found: set[str] = set()
    for text in (*index.keys, *index.include, index.where or ""):
        found |= identifiers(text)
    return found
