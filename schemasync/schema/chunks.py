"""Materialising models too big for one transaction: groups of tables that fit the server's lock table.

Each table created in the scratch transaction keeps its locks until the rollback: the table, its
primary key and unique indexes, its serial sequences, its TOAST table and index, about five relations
for an ordinary table. PostgreSQL's lock table holds `max_locks_per_transaction` x server processes
objects for all sessions together (7,808 with the defaults and 100 connections), so models of a few
thousand tables cannot be created in one transaction. Such models are split into groups of tables, in
create_all's order, each materialised in its own rolled-back transaction using at most half of the
lock table, and the inspected groups are merged.

Foreign keys cross groups (a hub table referenced by everything, a ring): a group that references a
table of another group also creates a stub of it, its CREATE TABLE without foreign keys (columns, keys
and checks, which is what a foreign key needs), and the stub is left out of the group's result. Shared
statements (enum types, sequences, schemas) go into every group. Models with their own DDL events
(`event.listen(metadata, "after_create", DDL(...))`) are never split: that text may name any table.
Ordinary models keep the single transaction, so nothing changes for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import psycopg

from schemasync.db import lock_table
from schemasync.schema.model import Schema

if TYPE_CHECKING:
    from schemasync.schema.ddl import DDLStatement, ModelDDL

_SEQUENCES = re.compile(r"\b(?:SMALL|BIG)?SERIAL\b|\bGENERATED\b[^,]*\bAS IDENTITY\b", re.IGNORECASE)
SHARE = 2  # use at most 1/SHARE of the lock table: other sessions hold locks too


def budget(conn: psycopg.Connection) -> int:
    """How many locks one materialising transaction may take on this server."""
    try:
        return max(16, lock_table(conn).capacity // SHARE)
    except psycopg.Error:  # a server hiding pg_settings: keep the single transaction
        return 1 << 30


def locks_of(statement: DDLStatement) -> int:
    """About how many relations the statement creates (and so keeps locked until the rollback)."""
    text = statement.text.upper()
    if text.startswith("CREATE TABLE"):
        # the table, its TOAST table and TOAST index, one index per key, one sequence per serial/identity
        return 3 + text.count("PRIMARY KEY") + text.count("UNIQUE") + len(_SEQUENCES.findall(text))
    if text.startswith(("CREATE INDEX", "CREATE UNIQUE INDEX", "CREATE SEQUENCE")):
        return 1
    return text.count("UNIQUE") + text.count("PRIMARY KEY")  # ALTER TABLE ... ADD CONSTRAINT


@dataclass(frozen=True, slots=True)
class ChunkGroup:
    """One transaction's worth of the models: its DDL, and the tables that are stubs (not part of its result)."""

    ddl: ModelDDL
    stubs: frozenset[tuple[str, str]] = frozenset()


def split(ddl: ModelDDL, limit: int) -> list[ChunkGroup]:
    """`ddl` as one group when it fits `limit` locks (or cannot be split), else as groups that each do."""
    total = sum(locks_of(s) for s in ddl.statements)
    if total <= limit or any(s.custom for s in ddl.statements):
        return [ChunkGroup(ddl)]
    shared = [s for s in ddl.statements if s.table is None]
    by_table: dict[tuple[str, str], list[DDLStatement]] = {}
    for s in ddl.statements:
        if s.table is not None:
            by_table.setdefault(s.table, []).append(s)
    creates = {key: next((s for s in group if s.what.startswith("table ")), None) for key, group in by_table.items()}
    base = sum(locks_of(s) for s in shared)
    groups: list[tuple[list[tuple[str, str]], set[tuple[str, str]]]] = []
    tables: list[tuple[str, str]] = []
    stubs: set[tuple[str, str]] = set()
    used = base
    for key, statements in by_table.items():
        refs = {r for s in statements for r in s.refs if r != key and r not in tables and r not in stubs}
        cost = sum(locks_of(s) for s in statements) + sum(_stub_locks(creates.get(r)) for r in refs)
        if tables and used + cost > limit:
            groups.append((tables, stubs))
            tables, stubs, used = [], set(), base
            refs = {r for s in statements for r in s.refs if r != key}
            cost = sum(locks_of(s) for s in statements) + sum(_stub_locks(creates.get(r)) for r in refs)
        tables.append(key)
        stubs.discard(key)  # created for real in this group after all: its stub must not be created too
        stubs |= refs
        used += cost
    if tables:
        groups.append((tables, stubs))
    order = {id(s): n for n, s in enumerate(ddl.statements)}
    result = []
    for members, referenced in groups:
        own = sorted((s for key in members for s in by_table[key]), key=lambda s: order[id(s)])
        made = [
            replace(stub, text=without_foreign_keys(stub.text), refs=()) for r in referenced if (stub := creates.get(r))
        ]
        result.append(ChunkGroup(replace(ddl, statements=(*shared, *made, *own)), frozenset(referenced) - set(members)))
    return result


def _stub_locks(create: DDLStatement | None) -> int:
    return locks_of(create) if create is not None else 0


def without_foreign_keys(create_table: str) -> str:
    """A CREATE TABLE as SQLAlchemy writes it, minus its FOREIGN KEY clauses (one per `, \n`-separated item)."""
    head, sep, rest = create_table.partition("(\n")
    body, _, tail = rest.rpartition("\n)")
    items = [item for item in body.split(", \n") if "FOREIGN KEY(" not in item]
    return head + sep + ", \n".join(items) + "\n)" + tail


def merge(parts: list[tuple[Schema, frozenset[tuple[str, str]]]]) -> Schema:
    """One schema from the groups' (schema, stubs): stubs dropped; shared objects appear in each, kept once."""

    def once(items: list) -> tuple:  # type: ignore[type-arg]
        seen: dict[object, object] = {}
        for item in items:
            seen.setdefault(getattr(item, "key", None) or (item.kind, item.schema, item.name, item.table), item)
        return tuple(seen.values())

    return Schema(
        tables=tuple(t for p, stubs in parts for t in p.tables if t.key not in stubs),
        enums=once([e for p, _ in parts for e in p.enums]),
        sequences=once([s for p, _ in parts for s in p.sequences]),
        schemas=tuple(dict.fromkeys(n for p, _ in parts for n in p.schemas)),
        reported=once([r for p, _ in parts for r in p.reported]),
        model_errors=tuple(e for p, _ in parts for e in p.model_errors),  # each group's; sorted() keeps one of each
        unmanaged_declared=tuple(u for p, _ in parts for u in p.unmanaged_declared),
        server_version=parts[0][0].server_version if parts else 0,
        views=once([v for p, _ in parts for v in p.views]),
        dependencies=tuple(d for p, _ in parts for d in p.dependencies),
        uses=tuple(u for p, _ in parts for u in p.uses),
        extensions=once([x for p, _ in parts for x in p.extensions]),
        domains=once([d for p, _ in parts for d in p.domains]),
        composites=once([t for p, _ in parts for t in p.composites]),
        routines=once([r for p, _ in parts for r in p.routines]),
        triggers=once([t for p, _ in parts for t in p.triggers]),
        row_security=once([r for p, _ in parts for r in p.row_security]),
        policies=once([x for p, _ in parts for x in p.policies]),
        grants=once([g for p, _ in parts for g in p.grants]),
        default_privileges=once([d for p, _ in parts for d in p.default_privileges]),
        ranges=once([r for p, _ in parts for r in p.ranges]),
    ).sorted()
