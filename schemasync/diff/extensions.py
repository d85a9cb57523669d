"""Extensions: create the ones the models want, update a pinned version, drop (with prune) the others.

An extension is one per database, so it is matched by name only; the schema it lives in is where it was
created and is never moved. A version is compared only when the models pin one (`VERSION '1.6'`): a
database holding another version of an extension the models merely use is left at it. A prune leaves
an extension alone while objects outside it use it, unless the only users are routines the same prune drops.
"""

from __future__ import annotations

from schemasync.diff.changes import Change, CreateExtension, DropExtension, UpdateExtension
from schemasync.diff.scope import CompareOptions
from schemasync.schema.model import Extension, Schema


def compare_extensions(current: Schema, desired: Schema, options: CompareOptions) -> list[Change]:
    out: list[Change] = []
    have = {x.name: x for x in current.extensions}
    for ext in desired.extensions:
        old = have.get(ext.name)
        if old is None:
            out.append(CreateExtension(ext))
        elif ext.version is not None and old.version is not None and old.version != ext.version:
            out.append(UpdateExtension(ext.name, old.version, ext.version))
    if options.prune:
        wanted = {x.name for x in desired.extensions}
        # one that objects in the database still use (a hand-made index on its operator class, a model
        # error's live copy) is left alone: DROP EXTENSION would fail and roll the whole plan back; one only
        # functions use goes when the same prune drops them all (`_freed_by_routines`)
        out.extend(
            DropExtension(x.name, x.schema)
            for x in current.extensions
            if x.name not in wanted and not x.in_use and _freed_by_routines(x, current, desired)
        )
    return out


def _freed_by_routines(ext: Extension, current: Schema, desired: Schema) -> bool:
    """Whether no function or procedure that uses the extension outlives the prune.

    Under prune every live routine in the compared schemas that the models do not declare (by schema, name
    and argument types) is dropped (`diff/routines.py`), before the extensions (`diff/order.py`); a declared
    one stays, and so does one outside the compared schemas: either keeps the extension in use.
    """
    dropped = {r.key for r in current.routines} - {r.key for r in desired.routines}
    return all(user in dropped for user in ext.used_by_routines)
