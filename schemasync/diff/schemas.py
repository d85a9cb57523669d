"""Namespaces: create the ones the models use. Schemas are never dropped: they may hold anything."""

from __future__ import annotations

from schemasync.diff.changes import Change, CreateSchema
from schemasync.schema.model import Schema

ALWAYS_THERE = frozenset({"public", "pg_catalog", "information_schema"})


def compare_schemas(current: Schema, desired: Schema) -> list[Change]:
    have = set(current.schemas) | {t.schema for t in current.tables} | ALWAYS_THERE
    wanted = set(desired.schemas) | {t.schema for t in desired.tables} | {e.schema for e in desired.enums}
    wanted |= {s.schema for s in desired.sequences}
    return [CreateSchema(name) for name in sorted(wanted - have)]
