"""Extensions: create the ones the models want, update a pinned version, drop (with prune) the others.

An extension is one per database, so it is matched by name only; the schema it lives in is where it was
created and is never moved. A version is compared only when the models pin one (`VERSION '1.6'`): a
database holding another version of an extension the models merely use is left at it.
"""

from __future__ import annotations

from schemasync.diff.changes import Change, CreateExtension, DropExtension, UpdateExtension
from schemasync.diff.scope import CompareOptions
from schemasync.schema.model import Schema


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
        # error's live copy) is left alone: DROP EXTENSION would fail and roll the whole plan back
        out.extend(DropExtension(x.name, x.schema) for x in current.extensions if x.name not in wanted and not x.in_use)
    return out
