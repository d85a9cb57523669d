"""Columns of a table that exists on both sides: add, drop (with prune), and alter attribute by attribute.

The changes for one column come out in the order PostgreSQL needs them: a default that would not
survive the type change (or that an identity replaces) is dropped first, then the type, the
nullability, the identity, the new default, the comment. A serial column's own sequence follows a
table or column rename by renaming the sequence, not by creating a new one that would restart at 1.

What a column of the models does not declare is left alone without prune, the way a column the
models do not have is: a comment when the model sets none, a collation when the model names none
(and the type stays), an identity when the model has neither identity, default nor generation.
A declared value that differs (another collation, a serial instead of an identity) is a change.
"""

from __future__ import annotations

from dataclasses import replace

from schemasync.diff.changes import (
    AddColumn,
    AlterColumnComment,
    AlterColumnDefault,
    AlterColumnGenerated,
    AlterColumnIdentity,
    AlterColumnNullability,
    AlterColumnType,
    Change,
    DropColumn,
    RenameSequence,
)
from schemasync.diff.expressions import same_default, same_expression
from schemasync.diff.names import nextval_sequence
from schemasync.diff.scope import CompareOptions
from schemasync.schema.model import Column, Schema, Table


def compare_columns(
    current_table: Table, desired_table: Table, current: Schema, desired: Schema, options: CompareOptions
) -> list[Change]:
    """Tables are already matched (and renamed); columns are matched by name."""
    s, t = desired_table.schema, desired_table.name
    have = {c.name: c for c in current_table.columns}
    standalone = {q.key for q in current.sequences} | {q.key for q in desired.sequences}
    out: list[Change] = []
    for col in desired_table.columns:
        old = have.get(col.name)
        if old is None:
            out.append(AddColumn(s, t, col))
            continue
        want = col if options.prune else keep_undeclared(old, col)[0]
        if old != want:
            out.extend(compare_column(s, t, old, want, standalone, old_table=current_table, new_table=desired_table))
    if options.prune:
        wanted = {c.name for c in desired_table.columns}
        out.extend(DropColumn(s, t, c.name) for c in current_table.columns if c.name not in wanted)
    return out


def keep_undeclared(old: Column, new: Column) -> tuple[Column, list[str]]:
    """`new` with what the models leave undeclared taken from the database's `old`, and what was so kept."""
    kept: list[str] = []
    if new.comment is None and old.comment is not None:
        new = replace(new, comment=old.comment)
        kept.append("comment")
    if new.collation is None and old.collation is not None and new.type == old.type:
        new = replace(new, collation=old.collation)
        kept.append("collation")
    if old.identity is not None and new.identity is None and new.default is None and new.generated is None:
        # An identity column is NOT NULL by rule: kept, it keeps that too.
        new = replace(new, identity=old.identity, identity_options=old.identity_options, nullable=False)
        kept.append("identity")
    return new, kept


def compare_column(
    schema: str,
    table: str,
    old: Column,
    new: Column,
    standalone: set[tuple[str, str]],
    *,
    old_table: Table,
    new_table: Table,
) -> list[Change]:
    """Expressions (default, generation) compare in normal form (`diff/expressions.py`), read against their tables."""
    out: list[Change] = []
    name = new.name
    if not same_expression(old.generated, old_table, new.generated, new_table):
        if new.generated is not None:
            return [AlterColumnGenerated(schema, table, new, old.generated)]  # re-added whole
        out.append(AlterColumnGenerated(schema, table, new, old.generated))  # DROP EXPRESSION keeps the values
        old = replace(old, generated=None)

    old_seq, new_seq = nextval_sequence(old.default), nextval_sequence(new.default)
    old_default = old.default
    if (
        old_seq
        and new_seq
        and old_seq != new_seq
        and old_seq[0] == new_seq[0]
        and old_seq not in standalone
        and new_seq not in standalone
    ):
        # A serial column whose table or column was renamed: its sequence follows, keeping its position.
        out.append(RenameSequence(old_seq[0], old_seq[1], new_seq[1]))
        old_default, old_seq = new.default, new_seq

    type_changed = (old.type, old.collation) != (new.type, new.collation)
    default_changed = not same_default(replace(old, default=old_default), old_table, new, new_table)
    identity_changed = (old.identity, old.identity_options) != (new.identity, new.identity_options)
    drop_first = old_default is not None and (
        type_changed
        or (old.identity != new.identity and new.identity is not None)
        or (default_changed and new.default is None)
    )
    if drop_first:
        orphan = old_seq if old_seq and old_seq not in standalone and old_seq != new_seq else None
        out.append(AlterColumnDefault(schema, table, name, None, old_default, drop_sequence=orphan))
    if type_changed:
        out.append(AlterColumnType(schema, table, name, old.type, new.type, new.collation, old.collation))
    if old.nullable != new.nullable:
        out.append(AlterColumnNullability(schema, table, name, new.nullable))
    if identity_changed:
        out.append(
            AlterColumnIdentity(
                schema, table, name, new.identity, old.identity, new.identity_options, old.identity_options
            )
        )
    if new.default is not None and (drop_first or default_changed):
        create = new_seq if new_seq and new_seq not in standalone and new_seq != old_seq else None
        out.append(
            AlterColumnDefault(
                schema, table, name, new.default, None if drop_first else old_default, create_sequence=create
            )
        )
    if old.comment != new.comment:
        out.append(AlterColumnComment(schema, table, name, new.comment))
    return out
