"""Plan -> Plan rewrites, each pure: where statements run, and with which timeouts.

They run in this order in `make_plan`: hoist enum labels a later statement needs, arrange the
statements around the transaction, then fill in each statement's timeouts so the printed plan says
exactly what the executor will set.
"""

from __future__ import annotations

from dataclasses import replace

from schemasync.plan.hazards import Hazard, HazardKind
from schemasync.plan.model import Plan, Statement


def hoist_enum_values(plan: Plan, used: dict[int, str]) -> Plan:
    """Move ADD VALUE statements whose label a later statement uses (`used`: index -> the literal as used)
    before the transaction: PostgreSQL refuses a new label in the transaction that added it."""
    statements = list(plan.statements)
    for i, needle in used.items():
        if not any(needle in s.sql for s in statements[i + 1 :]):
            continue
        note = Hazard(
            HazardKind.CORRECTNESS,
            "runs before the transaction (a new enum label cannot be used in the transaction that adds it); "
            "if the transaction then fails, the unused label stays",
        )
        statements[i] = replace(statements[i], transactional=False, first=True, hazards=(*statements[i].hazards, note))
    return replace(plan, statements=tuple(statements))


def arrange(plan: Plan) -> Plan:
    """Statements that must precede the transaction, then the transaction, then what runs after it."""
    first = [s for s in plan.statements if not s.transactional and s.first]
    inside = [s for s in plan.statements if s.transactional]
    after = [s for s in plan.statements if not s.transactional and not s.first]
    return replace(plan, statements=tuple(first + inside + after))


def with_timeouts(plan: Plan, *, lock_timeout: float, statement_timeout: float) -> Plan:
    """Every statement's own timeouts, defaulting to the session's settings."""

    def fill(s: Statement) -> Statement:
        return replace(
            s,
            lock_timeout=lock_timeout if s.lock_timeout is None else s.lock_timeout,
            statement_timeout=statement_timeout if s.statement_timeout is None else s.statement_timeout,
        )

    return replace(plan, statements=tuple(fill(s) for s in plan.statements))
