"""Standalone sequences (the ones a serial or identity column owns travel with their column).

A new sequence is created without an owner and given its OWNED BY once the owning table exists,
through the same `AlterSequence` that any other option change uses.
"""

from __future__ import annotations

from dataclasses import replace

from schemasync.diff.changes import AlterSequence, Change, CreateSequence, DropSequence
from schemasync.diff.scope import CompareOptions
from schemasync.schema.model import Schema


def compare_sequences(current: Schema, desired: Schema, options: CompareOptions) -> list[Change]:
    out: list[Change] = []
    have = {s.key: s for s in current.sequences}
    for seq in sorted(desired.sequences, key=lambda s: s.key):
        old = have.get(seq.key)
        if old is None:
            bare = replace(seq, owned_by=None)
            out.append(CreateSequence(bare))
            if seq.owned_by:
                out.append(AlterSequence(bare, seq))
        elif old != seq:
            out.append(AlterSequence(old, seq))
    if options.prune:
        wanted = {s.key for s in desired.sequences}
        out.extend(DropSequence(*key) for key in sorted(have) if key not in wanted)
    return out
