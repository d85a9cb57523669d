"""Planning functions, procedures and triggers.

Their definitions are what PostgreSQL printed (`pg_get_functiondef`, `pg_get_triggerdef`, read on the
side of the models after they were materialised): complete statements with every name qualified and
the body dollar-quoted under a tag PostgreSQL chose not to clash with it, so they are run as they are.
A body is data the models supplied; it is never taken apart or rewritten here.
"""

from __future__ import annotations

from schemasync.diff import changes as c
from schemasync.plan.dispatch import PlanContext, plan_change
from schemasync.plan.hazards import Hazard, HazardKind
from schemasync.plan.model import Statement
from schemasync.plan.sql import ident, raw
from schemasync.schema.model import Routine, Trigger

_ENABLE = {"O": "ENABLE TRIGGER", "D": "DISABLE TRIGGER", "R": "ENABLE REPLICA TRIGGER", "A": "ENABLE ALWAYS TRIGGER"}


def _label(r: Routine) -> str:
    return f"{r.kind} {r.schema}.{r.name}({r.arguments})"


def create_sql(r: Routine) -> str:
    """The statement creating `r`: also what `introspect` writes back as its DDL event."""
    return raw(r.definition).rstrip()


def _drop(r: Routine) -> str:
    return f"DROP {r.kind.upper()} {ident(r.schema, r.name)}({raw(r.arguments)})"


@plan_change.register
def plan_create_routine(change: c.CreateRoutine, ctx: PlanContext) -> list[Statement]:
    return [Statement(create_sql(change.routine))]


@plan_change.register
def plan_replace_routine(change: c.ReplaceRoutine, ctx: PlanContext) -> list[Statement]:
    return [Statement(create_sql(change.routine))]


@plan_change.register
def plan_recreate_routine(change: c.RecreateRoutine, ctx: PlanContext) -> list[Statement]:
    fact = (
        f"drops and creates {_label(change.routine)}: its result type or parameters change, which CREATE OR "
        "REPLACE cannot do; the drop fails (and nothing changes) if triggers, defaults, checks or views use it"
    )
    return [
        Statement(_drop(change.old), (Hazard(HazardKind.CORRECTNESS, fact),)),
        Statement(create_sql(change.routine)),
    ]


@plan_change.register
def plan_drop_routine(change: c.DropRoutine, ctx: PlanContext) -> list[Statement]:
    r = change.routine
    if change.reason and change.recreated:
        fact = f"drops {_label(r)} and re-creates it later in this transaction ({change.reason})"
    elif change.reason:
        fact = (
            f"drops {_label(r)} ({change.reason}): the models do not declare it, so it is not re-created; "
            "whatever calls it fails"
        )
    elif change.replaced:
        fact = f"drops {_label(r)}: the models declare {r.name} with other arguments only; callers of this one fail"
    else:
        fact = f"drops {_label(r)}, which the models do not declare: whatever calls it fails"
    return [Statement(_drop(r), (Hazard(HazardKind.CORRECTNESS, fact),))]


def _enable(t: Trigger) -> Statement:
    return Statement(f"ALTER TABLE {ident(t.schema, t.table)} {_ENABLE[t.enabled]} {ident(t.name)}")


def _drop_trigger(schema: str, table: str, name: str) -> str:
    return f"DROP TRIGGER {ident(name)} ON {ident(schema, table)}"


@plan_change.register
def plan_create_trigger(change: c.CreateTrigger, ctx: PlanContext) -> list[Statement]:
    t = change.trigger
    out = [Statement(raw(t.definition), ctx.locking(t.schema, t.table, "CREATE TRIGGER (blocks writes briefly)"))]
    if t.enabled != "O":
        out.append(_enable(t))
    return out


@plan_change.register
def plan_recreate_trigger(change: c.RecreateTrigger, ctx: PlanContext) -> list[Statement]:
    t = change.trigger
    out = [
        Statement(_drop_trigger(t.schema, t.table, change.old.name)),
        Statement(raw(t.definition), ctx.locking(t.schema, t.table, "CREATE TRIGGER (blocks writes briefly)")),
    ]
    if t.enabled != "O":
        out.append(_enable(t))
    return out


@plan_change.register
def plan_alter_trigger_enabled(change: c.AlterTriggerEnabled, ctx: PlanContext) -> list[Statement]:
    return [_enable(change.trigger)]


@plan_change.register
def plan_drop_trigger(change: c.DropTrigger, ctx: PlanContext) -> list[Statement]:
    if change.reason and change.recreated:
        fact = f"drops trigger {change.name} on {change.schema}.{change.table} and re-creates it later in this transaction ({change.reason})"
    elif change.reason:
        fact = (
            f"drops trigger {change.name} on {change.schema}.{change.table} ({change.reason}): the models do not "
            "declare it, so it is not re-created; what it did on each write stops"
        )
    else:
        fact = f"drops trigger {change.name} on {change.schema}.{change.table}, which the models do not declare: what it did on each write stops"
    return [Statement(_drop_trigger(change.schema, change.table, change.name), (Hazard(HazardKind.CORRECTNESS, fact),))]
