"""Composite types: create, add / drop / retype attributes in place, recreate when a used attribute changes type.

Attributes are matched by name; their order is not compared (PostgreSQL cannot reorder them, and a new
one is appended). ADD and DROP ATTRIBUTE work while columns use the type (a dropped attribute's values
are lost: a DELETES_DATA hazard); ALTER ATTRIBUTE TYPE is refused then, so such a change recreates the
type and recasts each column through a row constructor, attribute by attribute.
"""

from __future__ import annotations

from schemasync.diff import changes as c
from schemasync.diff.domains import columns_of
from schemasync.diff.scope import CompareOptions
from schemasync.schema.model import CompositeType, Schema


def compare_composites(current: Schema, desired: Schema, options: CompareOptions) -> list[c.Change]:
    """`current` is the database after renames."""
    out: list[c.Change] = []
    have = {t.key: t for t in current.composites}
    for wanted in desired.composites:
        old = have.get(wanted.key)
        if old is None:
            out.append(c.CreateComposite(wanted))
            continue
        change = _alteration(old, wanted, columns_of(current, desired, wanted.schema, wanted.name, options))
        if change is not None:
            out.append(change)
    if options.prune:
        keys = {t.key for t in desired.composites}
        out += [c.DropComposite(*t.key) for t in current.composites if t.key not in keys]
    return out


def _alteration(old: CompositeType, new: CompositeType, columns: tuple[c.CompositeUse, ...]) -> c.Change | None:
    had = {a.name: a for a in old.attributes}
    wanted = {a.name: a for a in new.attributes}
    add = tuple(a for a in new.attributes if a.name not in had)
    drop = tuple(a.name for a in old.attributes if a.name not in wanted)
    retype = tuple(a for a in new.attributes if a.name in had and had[a.name] != a)
    if not (add or drop or retype):
        return None
    if retype and columns:
        return c.RecreateComposite(new, old, columns)
    return c.AlterComposite(new.schema, new.name, add, drop, retype, columns)
