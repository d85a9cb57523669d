"""Materialising models too big for one transaction: groups of tables that fit the server's lock table.

Each table created in the scratch transaction keeps its locks until the rollback: the table, its
primary key and unique indexes, its serial sequences, its TOAST table and index, about five relations
for an ordinary table. PostgreSQL's lock table holds `max_locks_per_transaction` x server processes
objects for all sessions together (7,808 with the defaults and 100 connections), so models of a few
thousand tables cannot be created in one transaction. Such models are split into groups of tables
linked by foreign keys (a table and everything it references, transitively, stay together), each
group with the shared statements (enum types, sequences, schemas) it may need, each materialised in
its own rolled-back transaction using at most half of the lock table; the inspected parts are merged.

Models with their own DDL events (`event.listen(metadata, "after_create", DDL(...))`) are never split:
that text may name any table. Ordinary models keep the single transaction, so nothing changes for them.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

import psycopg

from schemasync.schema.model import Schema

if TYPE_CHECKING:
    from schemasync.schema.target import ModelDDL, Statement

_SEQUENCES = re.compile(r"\b(?:SMALL|BIG)?SERIAL\b|\bGENERATED\b[^,]*\bAS IDENTITY\b", re.IGNORECASE)
SHARE = 2  # use at most 1/SHARE of the lock table: other sessions hold locks too


def budget(conn: psycopg.Connection) -> int:
    """How many locks one materialising transaction may take on this server."""
    from schemasync.db import lock_table

    try:
        return max(16, lock_table(conn).capacity // SHARE)
    except psycopg.Error:  # a server hiding pg_settings: keep the single transaction
        return 1 << 30


def locks_of(statement: Statement) -> int:
    """About how many relations the statement creates (and so keeps locked until the rollback)."""
    text = statement.text.upper()
    if text.startswith("CREATE TABLE"):
        # the table, its TOAST table and TOAST index, one index per key, one sequence per serial/identity
        return 3 + text.count("PRIMARY KEY") + text.count("UNIQUE") + len(_SEQUENCES.findall(text))
    if text.startswith(("CREATE INDEX", "CREATE UNIQUE INDEX", "CREATE SEQUENCE")):
        return 1
    return text.count("UNIQUE") + text.count("PRIMARY KEY")  # ALTER TABLE ... ADD CONSTRAINT


def split(ddl: ModelDDL, limit: int) -> list[ModelDDL]:
    """`ddl` as one group when it fits `limit` locks (or cannot be split), else as groups that each do."""
    total = sum(locks_of(s) for s in ddl.statements)
    if total <= limit or any(s.custom for s in ddl.statements):
        return [ddl]
    shared = [s for s in ddl.statements if s.table is None]
    owned = [s for s in ddl.statements if s.table is not None]
    # Tables linked by foreign keys, in either direction, end up in one component.
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(key: tuple[str, str]) -> tuple[str, str]:
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for s in owned:
        assert s.table is not None
        for ref in s.refs:
            parent[find(ref)] = find(s.table)
    components: dict[tuple[str, str], list[Statement]] = {}
    for s in owned:  # statement order is kept: create_all emits referenced tables first
        assert s.table is not None
        components.setdefault(find(s.table), []).append(s)
    base = sum(locks_of(s) for s in shared)
    groups: list[list[Statement]] = []
    current: list[Statement] = []
    used = base
    for statements in components.values():
        cost = sum(locks_of(s) for s in statements)
        if current and used + cost > limit:
            groups.append(current)
            current, used = [], base
        current.extend(statements)
        used += cost
    if current:
        groups.append(current)
    order = {id(s): n for n, s in enumerate(ddl.statements)}
    return [replace(ddl, statements=tuple(sorted([*shared, *group], key=lambda s: order[id(s)]))) for group in groups]


def merge(parts: list[Schema]) -> Schema:
    """One schema from the groups' schemas: tables are disjoint; shared objects appear in each, kept once."""

    def once(items: list) -> tuple:  # type: ignore[type-arg]
        seen: dict[object, object] = {}
        for item in items:
            seen.setdefault(getattr(item, "key", None) or (item.kind, item.schema, item.name, item.table), item)
        return tuple(seen.values())

    return Schema(
        tables=tuple(t for p in parts for t in p.tables),
        enums=once([e for p in parts for e in p.enums]),
        sequences=once([s for p in parts for s in p.sequences]),
        schemas=tuple(dict.fromkeys(n for p in parts for n in p.schemas)),
        reported=once([r for p in parts for r in p.reported]),
        server_version=parts[0].server_version if parts else 0,
    ).sorted()
