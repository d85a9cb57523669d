"""Changes -> a plan: SQL statements with hazards, transaction boundaries and timeouts.

`make_plan(diff, current, desired, ...)` renders each change through the `plan_change` generic
function (one module per object kind registers its renderers; the import below checks that every
change type has one), then applies the pure post-processing in `post.py`. `facts.measure` then
counts the rows behind DATA_DEPENDENT and DELETES_DATA hazards with a live connection.
"""

from __future__ import annotations

from dataclasses import replace
from typing import get_args

from schemasync.diff import changes as c
from schemasync.diff.compare import Diff
from schemasync.diff.names import quote_ident
from schemasync.diff.summary import description, summary_lines
from schemasync.plan import (  # noqa: F401  (register renderers)
    columns,
    comments,
    composites,
    constraints,
    domains,
    extensions,
    grants,
    indexes,
    owners,
    partitions,
    ranges,
    routines,
    security,
    tableprops,
    tables,
    types,
    views,
)
from schemasync.plan.dispatch import PlanContext, plan_change
from schemasync.plan.hazards import Hazard, HazardKind, Probe
from schemasync.plan.model import Plan, Statement
from schemasync.plan.post import arrange, hoist_enum_values, with_timeouts
from schemasync.plan.sql import ident, literal
from schemasync.schema.model import Schema

_unplanned = set(get_args(c.Change)) - set(plan_change.registry)
if _unplanned:  # pragma: no cover - fails every import, so no test can miss it
    raise TypeError(f"change types without a planner: {sorted(k.__name__ for k in _unplanned)}")


def render(changes: list[c.Change] | tuple[c.Change, ...], ctx: PlanContext | None = None) -> list[Statement]:
    """The statements for the changes, in order, without post-processing (what render tests check)."""
    ctx = ctx or PlanContext()
    out: list[Statement] = []
    for change in changes:
        out += [replace(s, change=type(change).__name__) for s in plan_change(change, ctx)]
    return out


def make_plan(
    diff: Diff,
    current: Schema,
    desired: Schema,
    *,
    concurrent_indexes: bool = False,
    online: bool = False,
    lock_timeout: float | None = None,
    statement_timeout: float | None = None,
) -> Plan:
    """`current` is the database as inspected (before any rename), `desired` what the models want."""
    ctx = PlanContext(
        current=current,
        desired=desired,
        renames=diff.renames,
        new_tables=frozenset(x.table.key for x in diff.changes if isinstance(x, c.CreateTable)),
        concurrent_indexes=concurrent_indexes or online,
        online=online,
    )
    statements: list[Statement] = []
    labels: dict[int, str] = {}
    for change in diff.changes:
        rendered = views.name_other_dependents(change, render([change], ctx), ctx)
        if isinstance(change, c.AddEnumValue):
            labels[len(statements)] = f"{literal(change.label)}::{_type_name(change.schema, change.name)}"
        statements += rendered
    plan = Plan(
        statements=tuple(statements),
        source_hash=diff.source_hash,
        summary=tuple(summary_lines(diff)),
        description=description(diff),
        change_count=len(diff.changes),
        notes=tuple(f"Possible rename, not applied: {s.describe()}" for s in diff.suggestions),
    )
    plan = arrange(hoist_enum_values(plan, labels))
    if lock_timeout is not None and statement_timeout is not None:
        plan = with_timeouts(plan, lock_timeout=lock_timeout, statement_timeout=statement_timeout)
    return plan


def _type_name(schema: str, name: str) -> str:
    """How PostgreSQL renders the type in expressions (with an empty search_path: always qualified)."""
    return f"{quote_ident(schema)}.{quote_ident(name)}"


__all__ = [
    "Hazard",
    "HazardKind",
    "Plan",
    "PlanContext",
    "Probe",
    "Statement",
    "ident",
    "make_plan",
    "render",
]
