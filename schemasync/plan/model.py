"""A plan is plain data: statements with their hazards and timeouts, and the hash it was made from.

It is what the CLI prints, what the production flow shows the approver, and exactly what the
executor runs: nothing is decided at apply time that the printed plan does not show. Statements
that cannot run in a transaction (CREATE INDEX CONCURRENTLY, an enum label needed by a later
statement) sit at either end; everything between them runs in one transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from schemasync.plan.hazards import Hazard, HazardKind


@dataclass(frozen=True, slots=True)
class Statement:
    sql: str
    hazards: tuple[Hazard, ...] = ()
    transactional: bool = True  # False: runs on its own, after the transaction (or before it, see `first`)
    first: bool = False  # a non-transactional statement that must run before the transaction
    lock_timeout: float | None = None  # seconds; None: the session's (settings.lock_timeout)
    statement_timeout: float | None = None  # seconds, 0 for none; None: the session's
    change: str = ""  # which change it implements, for people reading the plan
    undo: str = ""  # run before retrying it after a lock timeout (a CONCURRENTLY build leaves an invalid index)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sql": self.sql,
            "hazards": [h.to_dict() for h in self.hazards],
            "transactional": self.transactional,
            "first": self.first,
            "lock_timeout": self.lock_timeout,
            "statement_timeout": self.statement_timeout,
            "change": self.change,
            "undo": self.undo,
        }


@dataclass(frozen=True, slots=True)
class Plan:
    statements: tuple[Statement, ...]
    source_hash: str  # Schema.hash() of the (scoped) database the plan was made from
    summary: tuple[str, ...] = ()  # the human summary lines of the diff
    description: str = ""  # one paragraph for schema_versions
    change_count: int = 0
    notes: tuple[str, ...] = field(default=())  # things a reader should know (unmanaged objects...)

    @property
    def empty(self) -> bool:
        return not self.statements

    @property
    def hazards(self) -> tuple[Hazard, ...]:
        return tuple(h for s in self.statements for h in s.hazards)

    def kinds(self) -> frozenset[HazardKind]:
        return frozenset(h.kind for h in self.hazards)

    @property
    def destructive(self) -> bool:
        return HazardKind.DELETES_DATA in self.kinds()

    def blocking(self) -> tuple[Hazard, ...]:
        return tuple(h for h in self.hazards if h.blocking)

    def parts(self) -> tuple[tuple[Statement, ...], tuple[Statement, ...], tuple[Statement, ...]]:
        """(before the transaction, in it, after it). A non-transactional statement between transactional
        ones cannot be honoured: that is a planner bug, refused here rather than run half-atomically."""
        statements = list(self.statements)
        start = 0
        while start < len(statements) and not statements[start].transactional and statements[start].first:
            start += 1
        end = len(statements)
        while end > start and not statements[end - 1].transactional and not statements[end - 1].first:
            end -= 1
        middle = statements[start:end]
        if any(not s.transactional for s in middle):
            raise ValueError("a non-transactional statement sits between transactional ones")
        return tuple(statements[:start]), tuple(middle), tuple(statements[end:])

    def sql(self, *, comments: bool = True) -> str:
        """The plan as one SQL script, hazards as comments, the transaction boundaries explicit."""
        before, inside, after = self.parts()
        lines: list[str] = []

        def emit(s: Statement) -> None:
            if comments:
                for h in s.hazards:
                    lines.append(f"-- {h.kind.name}: {h.fact}")
                if s.undo:
                    lines.append(f"-- before a retry after lock_timeout: {s.undo};")
            lines.append(s.sql.rstrip(";") + ";")

        for s in before:
            emit(s)
        if inside:
            lines.append("BEGIN;")
            for s in inside:
                emit(s)
            lines.append("COMMIT;")
        for s in after:
            emit(s)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source_hash": self.source_hash,
            "summary": list(self.summary),
            "description": self.description,
            "changes": self.change_count,
            "notes": list(self.notes),
            "hazards": sorted(str(k) for k in self.kinds()),
            "statements": [s.to_dict() for s in self.statements],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)
