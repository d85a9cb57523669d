"""Partitioned tables: the partition key, and the direct partitions with their bounds.

The key cannot change in place: PostgreSQL has no ALTER for it, and turning a plain table into a
partitioned one means a new table. So a declared key that differs from the database's (or a plain
table the models want partitioned) is one `Repartition` change, which the planner refuses with a
message saying how to do it by hand; schemasync never drops a table full of rows to re-create it
partitioned. A partitioned table the models declare without a key is left as it is: partitioning
set up beside the models (pg_partman's) was never theirs to undo, and cannot be undone in place.

Partitions are managed for a partitioned table whose models declare partitions (a DDL event
`CREATE TABLE p PARTITION OF t FOR VALUES ...`, see `schema/ddl.py: partition_ddl`):
  - a declared partition the database lacks is created, or, when the database has a plain table of
    that name, attached (its rows must fit the bound);
  - one whose bound changed is detached and attached again with the new bound (its rows kept);
  - one the models do not declare is left alone, and dropped only with prune (DELETES_DATA, its rows
    counted).
When the models declare no partition for a table, its partitions are somebody else's (pg_partman, a
job that creates next month's): part of that table, listed with it, never pruned (issue 14).
"""

from __future__ import annotations

from schemasync.diff.changes import (
    AttachPartition,
    Change,
    CreatePartition,
    DetachPartition,
    DropPartition,
    Repartition,
)
from schemasync.diff.scope import CompareOptions
from schemasync.schema.model import Partition, Schema, Table


def compare_partitioning(current: Table, desired: Table, options: CompareOptions, live: Schema) -> list[Change]:
    """`live`: the database (after renames), where a plain table of a declared partition's name is found."""
    s, t = desired.schema, desired.name
    if desired.partition_by is None:
        return []  # partitioning the models do not declare (pg_partman's, a DBA's) is the database's own
    if current.partition_by != desired.partition_by:
        return [Repartition(s, t, current.partition_by, desired.partition_by)]
    return partition_changes(desired, current.partition_bounds, options, live)


def partition_changes(
    desired: Table, have: tuple[Partition, ...], options: CompareOptions, live: Schema
) -> list[Change]:
    """The changes that bring a partitioned table's direct partitions (`have`) to the declared ones."""
    if not desired.partition_bounds:
        return []  # partitions are not the models' business here (see the module docstring)
    s, t = desired.schema, desired.name
    old = {(p.schema, p.name): p for p in have}
    out: list[Change] = []
    for p in desired.partition_bounds:
        before = old.get((p.schema, p.name))
        if before is None:
            standalone = live.table(p.schema, p.name)
            out.append(AttachPartition(s, t, p) if standalone is not None else CreatePartition(s, t, p))
        elif before.bound != p.bound:
            out += [DetachPartition(s, t, p.schema, p.name), AttachPartition(s, t, p)]
    if options.prune:
        wanted = {(p.schema, p.name) for p in desired.partition_bounds}
        out += [DropPartition(s, t, p.schema, p.name) for p in have if (p.schema, p.name) not in wanted]
    return out


def attached_tables(current: Schema, desired: Schema) -> set[tuple[str, str]]:
    """Plain tables of the database that a declared partition takes over (attached, never dropped as tables)."""
    have = {t.key for t in current.tables}
    return {(p.schema, p.name) for t in desired.tables for p in t.partition_bounds if (p.schema, p.name) in have}


def kept_partitions(current: Table, desired: Table, options: CompareOptions) -> list[str]:
    """Names ("schema.name") of the direct partitions the models do not declare, on a table whose partitions
    they manage: left alone without prune (with prune, dropped)."""
    if options.prune or not desired.partition_bounds:
        return []
    wanted = {(p.schema, p.name) for p in desired.partition_bounds}
    return [f"{p.schema}.{p.name}" for p in current.partition_bounds if (p.schema, p.name) not in wanted]
