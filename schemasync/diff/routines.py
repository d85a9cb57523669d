"""Functions, procedures and triggers: created, replaced in place where PostgreSQL allows it, else recreated.

A routine is known by its schema, name and input argument types, as PostgreSQL knows it: overloads are
different routines. Its whole `pg_get_functiondef` text is compared (body, language, volatility,
settings...). When the result type, the parameters' names, modes and defaults, and the kind stay, the
plan runs `CREATE OR REPLACE`, which keeps everything that depends on it; otherwise it drops and creates
it. A live routine whose name the models declare only with other argument types is the previous version
of a declared one: it is dropped even without prune (the models say what that name is). Other live
routines are left alone unless prune; extension-owned ones never reach the value at all.
New routines are created each after the routines and relations they need (`creation_order`, `schema/uses.py`).

A trigger is known by its table and name and compared by `pg_get_triggerdef`; a changed one is dropped
and created again in the same transaction. Triggers on a table the plan drops go with it.
"""

from __future__ import annotations

from schemasync.diff import changes as c
from schemasync.diff.scope import CompareOptions
from schemasync.schema import uses
from schemasync.schema.model import Routine, Schema, Trigger


def compare_routines(current: Schema, desired: Schema, options: CompareOptions) -> list[c.Change]:
    out: list[c.Change] = []
    have = {r.key: r for r in current.routines}
    for routine in creation_order(desired.routines, desired):
        old = have.get(routine.key)
        if old is None:
            out.append(c.CreateRoutine(routine))
        elif old != routine:
            out.append(c.ReplaceRoutine(routine, old) if replaceable(old, routine) else c.RecreateRoutine(routine, old))
    wanted = {r.key for r in desired.routines}
    names = {(r.schema, r.name) for r in desired.routines}
    for routine in current.routines:
        if routine.key in wanted:
            continue
        replaced = (routine.schema, routine.name) in names
        if replaced or options.prune:
            out.append(c.DropRoutine(routine, replaced=replaced))
    return out


def creation_order(routines: tuple[Routine, ...], schema: Schema) -> list[Routine]:
    """Routines, each after the routines it needs by `schema`'s dependency graph (`schema/uses.py`: what a
    SQL body reads and calls must exist when it is created), else in key order. The plan creates them so
    (and `diff/order.py` puts them among the tables and views they need or serve), `introspect` writes them so."""
    needs = uses.graph(schema)
    return uses.dependency_first(
        sorted(routines, key=lambda r: r.key),
        lambda r: [uses.routine_node(r)],
        lambda r: needs.get(uses.routine_node(r), ()),
        lambda node: needs.get(node, ()),
    )


def replaceable(old: Routine, new: Routine) -> bool:
    """Whether `CREATE OR REPLACE` can turn `old` into `new` (PostgreSQL refuses a changed result type,
    renamed parameters, removed defaults and a function turned procedure; all of them show in these)."""
    return (old.kind, old.result, old.parameters) == (new.kind, new.result, new.parameters)


def compare_triggers(current: Schema, desired: Schema, options: CompareOptions) -> list[c.Change]:
    out: list[c.Change] = []
    have = {t.key: t for t in current.triggers}
    for trigger in desired.triggers:
        old = have.get(trigger.key)
        if old is None:
            out.append(c.CreateTrigger(trigger))
        elif old.definition != trigger.definition:
            out.append(c.RecreateTrigger(trigger, old))
        elif old.enabled != trigger.enabled:
            out.append(c.AlterTriggerEnabled(trigger, old.enabled))
    if options.prune:
        wanted = {t.key for t in desired.triggers}
        tables = {t.key for t in desired.tables}
        out += [
            c.DropTrigger(*t.key)
            for t in current.triggers
            if t.key not in wanted and (t.schema, t.table) in tables  # a dropped table takes its triggers along
        ]
    return out


def left_alone_routines(current: Schema, desired: Schema) -> list[tuple[str, Routine | Trigger]]:
    """Live routines and triggers (on the models' tables) the models do not declare, kept without prune."""
    wanted = {r.key for r in desired.routines}
    names = {(r.schema, r.name) for r in desired.routines}
    out: list[tuple[str, Routine | Trigger]] = [
        (r.kind, r) for r in current.routines if r.key not in wanted and (r.schema, r.name) not in names
    ]
    wanted_triggers = {t.key for t in desired.triggers}
    tables = {t.key for t in desired.tables}
    out += [("trigger", t) for t in current.triggers if t.key not in wanted_triggers and (t.schema, t.table) in tables]
    return out
