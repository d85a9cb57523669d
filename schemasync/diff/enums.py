"""Enum types: create, add labels in place, recreate when labels go or move, drop (with prune).

PostgreSQL can only add a label to an enum (`ADD VALUE ... BEFORE/AFTER`). When the models remove
or reorder labels, the type is recreated: rename the old type aside, create the new one, recast
every column that uses it through text, drop the old type. The recast fails (and the whole plan
rolls back) if a row still holds a removed label; the planner counts those rows beforehand.
"""

from __future__ import annotations

from schemasync.diff.changes import (
    AddEnumValue,
    AlterEnumComment,
    Change,
    CreateEnum,
    DropEnum,
    EnumUse,
    RecreateEnum,
)
from schemasync.diff.names import base_type, type_names
from schemasync.diff.scope import CompareOptions
from schemasync.schema.model import Enum, Schema


def compare_enums(current: Schema, desired: Schema, options: CompareOptions) -> list[Change]:
    """`current` is the database after renames; columns it drops (with prune) are not recast."""
    out: list[Change] = []
    have = {e.key: e for e in current.enums}
    for enum in sorted(desired.enums, key=lambda e: e.key):
        old = have.get(enum.key)
        if old is None:
            out.append(CreateEnum(enum))
            continue
        if old.labels != enum.labels:
            added = _additions(enum, old.labels)
            if added is None:
                out.append(RecreateEnum(enum, old.labels, _uses(current, desired, enum, options)))
            else:
                out.extend(added)
        if old.comment != enum.comment:
            out.append(AlterEnumComment(enum.schema, enum.name, enum.comment))
    wanted = {e.key for e in desired.enums}
    if options.prune:
        out.extend(DropEnum(*key) for key in sorted(have) if key not in wanted)
    return out


def _additions(enum: Enum, old: tuple[str, ...]) -> list[Change] | None:
    """ADD VALUE changes turning `old` into the enum's labels, or None when impossible (removed or moved labels)."""
    new = enum.labels
    if not set(old) <= set(new) or [label for label in new if label in set(old)] != list(old):
        return None
    out: list[Change] = []
    # Adding left to right, each new label goes right after its predecessor in `new`, which exists by then.
    for i, label in enumerate(new):
        if label in old:
            continue
        if i > 0:
            out.append(AddEnumValue(enum.schema, enum.name, label, after=new[i - 1]))
        else:
            first_old = next((x for x in new if x in old), None)
            out.append(AddEnumValue(enum.schema, enum.name, label, before=first_old))
    return out


def _uses(current: Schema, desired: Schema, enum: Enum, options: CompareOptions) -> tuple[EnumUse, ...]:
    uses = []
    wanted = {t.key: t for t in desired.tables}
    for table in sorted(current.tables, key=lambda t: t.key):
        want = wanted.get(table.key)
        for col in table.columns:
            if not type_names(col.type, enum.schema, enum.name):
                continue
            des_col = want.column(col.name) if want else None
            if des_col is None and options.prune:
                continue  # dropped before the enum changes
            if des_col is None:
                default = col.default  # an unmanaged column keeps its default
            elif type_names(des_col.type, enum.schema, enum.name):
                default = des_col.default
            else:
                default = None  # the column changes type next; its own changes set the new default
            uses.append(EnumUse(table.schema, table.name, col.name, base_type(col.type)[1] > 0, default))
    return tuple(uses)
