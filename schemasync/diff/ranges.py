"""Range types (`CREATE TYPE name AS RANGE (...)`): created, dropped with prune, and, since PostgreSQL has no ALTER
for a range's definition, dropped and created when it changes, which only works while nothing uses the type.

The uses are the database's columns of the type (or of arrays of it) that stay; with any, the change is planned
with a blocking hazard naming them, so the plan is refused instead of failing on `DROP TYPE` (and a column of
the range cannot be recast to a new type of the same name in place). Its multirange type goes and comes with it.
"""

from __future__ import annotations

from schemasync.diff import changes as c
from schemasync.diff.domains import columns_of
from schemasync.diff.scope import CompareOptions
from schemasync.schema.model import RangeType, Schema


def compare_ranges(current: Schema, desired: Schema, options: CompareOptions) -> list[c.Change]:
    """`current` is the database after renames."""
    out: list[c.Change] = []
    have = {r.key: r for r in current.ranges}
    for wanted in desired.ranges:
        old = have.get(wanted.key)
        if old is None:
            out.append(c.CreateRange(wanted))
        elif old != wanted:
            uses = columns_of(current, desired, wanted.schema, wanted.name, options)
            out.append(c.RecreateRange(wanted, old, tuple((s, t, col) for s, t, col, _ in uses)))
    if options.prune:
        keys = {r.key for r in desired.ranges}
        out += [c.DropRange(*r.key) for r in current.ranges if r.key not in keys]
    return out


def left_alone_ranges(current: Schema, desired: Schema) -> list[RangeType]:
    """The database's range types the models do not declare, kept without prune."""
    keys = {r.key for r in desired.ranges}
    return [r for r in current.ranges if r.key not in keys]
