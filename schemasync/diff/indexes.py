"""Standalone indexes of a table that exists on both sides (indexes behind keys live with the keys).

Matched by name; renamed when only the name changed (same shape), rebuilt when the shape changed or
the database's copy is invalid (a CREATE INDEX CONCURRENTLY that failed half way). Without prune, an
index on a column the models do not have belongs to that column and is left alone.
"""

from __future__ import annotations

from schemasync.diff.changes import Change, CreateIndex, DropIndex, RenameIndex
from schemasync.diff.expressions import same_index
from schemasync.diff.names import identifiers
from schemasync.diff.scope import CompareOptions
from schemasync.schema.model import Index, Table


def compare_indexes(current: Table, desired: Table, options: CompareOptions, taken: set[str]) -> list[Change]:
    """`taken`: relation names already used in the schema, which a rename must not collide with."""
    s, t = desired.schema, desired.name
    old = {i.name: i for i in current.indexes}
    new = {i.name: i for i in desired.indexes}
    unmanaged: set[str] = set()
    if not options.prune:
        wanted = {c.name for c in desired.columns}
        unmanaged = {c.name for c in current.columns if c.name not in wanted}
    out: list[Change] = []
    gone = [i for name, i in old.items() if name not in new and not index_columns(i) & unmanaged]
    fresh = [i for name, i in new.items() if name not in old]
    for i in list(fresh):
        twin = next((g for g in gone if g.valid and same_index(g, current, i, desired)), None)
        if twin is not None and i.name not in taken:
            out.append(RenameIndex(s, t, twin.name, i.name))
            gone.remove(twin)
            fresh.remove(i)
    out.extend(DropIndex(s, t, i.name) for i in gone)
    for name, i in new.items():
        before = old.get(name)
        if before is not None and (not same_index(before, current, i, desired) or not before.valid):
            out += [DropIndex(s, t, name), CreateIndex(s, t, i)]
    out.extend(CreateIndex(s, t, i) for i in fresh)
    return out


def index_columns(index: Index) -> set[str]:
    """The identifiers an index's keys, INCLUDE list and predicate mention: a superset of its columns."""
    found: set[str] = set()
    for text in (*index.keys, *index.include, index.where or ""):
        found |= identifiers(text)
    return found
