"""Tables: create, drop (with prune), and the per-table comparison of columns, constraints, indexes, comment.

A new table is created with its columns, primary key, unique and check constraints; its foreign
keys and indexes are separate changes, so that tables referring to each other (even in a cycle)
can all be created before any foreign key between them is added.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import replace

from schemasync.diff.changes import (
    AddCheck,
    AddForeignKey,
    AddUnique,
    AlterColumnGenerated,
    AlterTableComment,
    Change,
    CreateIndex,
    CreateTable,
    DropTable,
)
from schemasync.diff.columns import compare_columns
from schemasync.diff.constraints import compare_constraints
from schemasync.diff.indexes import compare_indexes, index_columns
from schemasync.diff.names import NOT_NULL_HELPER_PREFIX, REBUILD_SUFFIX, identifiers
from schemasync.diff.partitions import attached_tables, compare_partitioning, partition_changes
from schemasync.diff.scope import CompareOptions
from schemasync.diff.tableprops import compare_table_properties
from schemasync.schema.model import Schema, Table


def compare_tables(
    current: Schema, desired: Schema, options: CompareOptions, *, equal: AbstractSet[tuple[str, str]] | None = None
) -> list[Change]:
    """`current` is the database as it will be after the renames; tables match by (schema, name).
    `equal`: the keys of the tables equal on both sides, when the caller has already tested them."""
    out: list[Change] = []
    taken: dict[str, set[str]] | None = None  # every relation name: only needed for a table that differs
    have = {t.key: t for t in current.tables}
    for des in sorted(desired.tables, key=lambda t: t.key):
        cur = have.get(des.key)
        if cur is None:
            out.extend(create_table(des))
            out.extend(partition_changes(des, (), options, current))
        elif not settled(cur, des, equal=None if equal is None else des.key in equal):
            if taken is None:
                taken = relation_names(current)
            out.extend(
                compare_table(
                    cur, des, current=current, desired=desired, options=options, taken=taken.get(des.schema, set())
                )
            )
    if options.prune:
        wanted = {t.key for t in desired.tables} | attached_tables(current, desired)
        out.extend(
            DropTable(t.schema, t.name) for t in sorted(current.tables, key=lambda t: t.key) if t.key not in wanted
        )
    return out


def settled(current: Table, desired: Table, *, equal: bool | None = None) -> bool:
    """Equal tables with nothing an online run left half done (an invalid index, a replacement index or a
    NOT NULL helper check, which `compare_table` finishes or drops even when both sides have them): no
    change is possible, so the comparison is skipped. On a large schema that is almost every table, and
    one equality test costs a fraction of matching columns, constraints and indexes one by one."""
    return (
        (current == desired if equal is None else equal)
        and all(i.valid and not i.name.endswith(REBUILD_SUFFIX) for i in current.indexes)
        and not any(k.name.startswith(NOT_NULL_HELPER_PREFIX) for k in current.checks)
    )


def create_table(table: Table) -> list[Change]:
    out: list[Change] = [CreateTable(replace(table, foreign_keys=(), indexes=(), partition_bounds=()))]
    out += [AddForeignKey(table.schema, table.name, fk) for fk in table.foreign_keys]
    out += [CreateIndex(table.schema, table.name, i) for i in table.indexes]
    return out


def compare_table(
    current_table: Table,
    desired_table: Table,
    *,
    current: Schema,
    desired: Schema,
    options: CompareOptions,
    taken: set[str],
) -> list[Change]:
    out = [
        *compare_columns(current_table, desired_table, current, desired, options),
        *compare_constraints(current_table, desired_table, options),
        *compare_indexes(current_table, desired_table, options, taken),
    ]
    out += compare_table_properties(current_table, desired_table, options, out)
    out += compare_partitioning(current_table, desired_table, options, current)
    if current_table.comment != desired_table.comment and (desired_table.comment is not None or options.prune):
        out.append(AlterTableComment(desired_table.schema, desired_table.name, desired_table.comment))
    readded = {x.column.name for x in out if isinstance(x, AlterColumnGenerated) and x.column.generated is not None}
    return out + (_dependents(desired_table, readded, out) if readded else [])


def _dependents(desired: Table, columns: set[str], planned: list[Change]) -> list[Change]:
    """What PostgreSQL drops with a column that is dropped and re-added (a changed generation
    expression): its indexes and constraints, added back unless the plan adds them anyway."""
    s, t = desired.schema, desired.name
    added = {x.index.name for x in planned if isinstance(x, CreateIndex)}
    added |= {x.constraint.name for x in planned if isinstance(x, AddUnique | AddCheck | AddForeignKey)}
    out: list[Change] = []
    for i in desired.indexes:
        if i.name not in added and index_columns(i) & columns:
            out.append(CreateIndex(s, t, i))
    out += [AddUnique(s, t, u) for u in desired.uniques if u.name not in added and set(u.columns) & columns]
    out += [AddCheck(s, t, k) for k in desired.checks if k.name not in added and identifiers(k.expression) & columns]
    out += [AddForeignKey(s, t, f) for f in desired.foreign_keys if f.name not in added and set(f.columns) & columns]
    return out


def relation_names(schema: Schema) -> dict[str, set[str]]:
    """Names of tables, indexes (keys' included) and sequences per schema: one namespace in PostgreSQL."""
    names: dict[str, set[str]] = {}
    for t in schema.tables:
        bucket = names.setdefault(t.schema, set())
        bucket.add(t.name)
        bucket.update(i.name for i in t.indexes)
        bucket.update(u.name for u in t.uniques)
        bucket.update(x.name for x in t.exclusions)
        if t.primary_key:
            bucket.add(t.primary_key.name)
    for s in schema.sequences:
        names.setdefault(s.schema, set()).add(s.name)
    return names
