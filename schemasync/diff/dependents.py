"""What stands in the way of a change under it: dropped before the change, re-created after it.

PostgreSQL refuses `ALTER COLUMN ... TYPE` on a column that a trigger (its WHEN clause, `UPDATE OF`), a
policy or a function with a SQL-standard body (`BEGIN ATOMIC`, `RETURN expr`; PostgreSQL 14+) uses, and
on any column of a table whose row type such a function body uses; it refuses `DROP COLUMN` and `DROP
TABLE` under the same objects, and `DROP FUNCTION` under the triggers, policies, column defaults, CHECK
constraints, indexes, views and other SQL-standard functions that call it (all of them read from
`pg_depend`, `Schema.dependencies`). So each of them is dropped before the change and created again after
it, in the same transaction, following the graph: what calls a function that must go is taken off first
and put back after. Views have their own pass (`diff/views.py`); what a rebuilt view or routine carries
that its CREATE does not (privileges, a view's triggers) is `kept_on_rebuilt`.

What is re-created is the models' declaration when they have one, else the live definition (the
operator's hand-made object is kept, as plain `sync` keeps it). An object the models do not declare that
uses a dropped column or table cannot be re-created from its live definition (it names what is gone):
it is dropped, with a hazard saying so; the plan never leaves that to `DROP ... CASCADE`. Functions with
string bodies (plpgsql, `AS $$...$$`) record no such use: PostgreSQL lets the change happen under them,
and the plan names those whose signature uses the table's row type (`plan/views.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeVar

from schemasync.diff import changes as c
from schemasync.diff.views import VIEW_KINDS, views_around_routines
from schemasync.schema.model import Dependency, Grant, Policy, Routine, Schema, Trigger

ROUTINE_KINDS = ("function", "procedure")
_Made = TypeVar("_Made", Trigger, Policy, Routine)
Node = tuple[str, str, str, str]  # (kind, schema, table or "", name); a routine's name is name(argument types)


@dataclass(frozen=True, slots=True)
class _Touched:
    """What the other changes do under the dependents."""

    retyped: set[tuple[str, str, str]]  # (schema, table, column) whose type changes
    dropped: set[tuple[str, str, str]]  # (schema, table, column) dropped
    tables: set[tuple[str, str]]  # tables dropped
    views: dict[tuple[str, str], bool]  # views dropped: whether each is created again

    @property
    def retyped_tables(self) -> set[tuple[str, str]]:
        return {(s, t) for s, t, _ in self.retyped}


def _touched(found: list[c.Change]) -> _Touched:
    retyped: set[tuple[str, str, str]] = set()
    dropped: set[tuple[str, str, str]] = set()
    tables: set[tuple[str, str]] = set()
    views: dict[tuple[str, str], bool] = {}
    for change in found:
        match change:
            case c.AlterColumnType(schema=s, table=t, column=col):
                retyped.add((s, t, col))
            case c.AlterColumnGenerated(schema=s, table=t, column=col):
                retyped.add((s, t, col.name))
            case c.RecreateEnum(columns=uses):
                retyped |= {(u.schema, u.table, u.column) for u in uses}
            case c.DropColumn(schema=s, table=t, name=col):
                dropped.add((s, t, col))
            case c.DropTable(schema=s, name=n):
                tables.add((s, n))
            case c.DropView(schema=s, name=n, reason=why, recreated=back):
                views[(s, n)] = bool(why) and back
    return _Touched(retyped, dropped, tables, views)


def _goes(d: Dependency, touched: _Touched) -> bool:
    """A trigger, policy, default, check or index that goes with its table (a default: with its column): taken
    off first, never put back."""
    if d.table is None:
        return False
    return (d.schema, d.table) in touched.tables or (
        d.kind == "default" and (d.schema, d.table, d.name) in touched.dropped
    )


def _kept(model: _Made | None, live: _Made) -> _Made:
    """What is created again: the models' object, else the live one; with the live comment if the models give none."""
    made = model or live
    return replace(made, comment=made.comment or live.comment)


def _node(d: Dependency) -> Node:
    return (d.kind, d.schema, d.table or "", d.name)


def routine_name(r: Routine) -> str:
    """How the dependency graph names a routine: name(argument types)."""
    return f"{r.name}({r.arguments})"


def _direct(d: Dependency, touched: _Touched) -> tuple[str, bool] | None:
    """Why `d`'s dependent is in the way of the changes, and whether it can be re-created from its live definition."""
    if d.kind in VIEW_KINDS or d.kind == "default":
        return None
    ref = (d.ref_schema, d.ref_name)
    label = _label(*ref)
    if d.ref_kind == "relation" and ref in touched.tables and (d.schema, d.table) != ref:
        return (f"it uses table {label}, which is dropped", False)  # a dropped table's own ones go with it
    if d.ref_kind == "relation" and d.ref_column is not None:
        column = (d.ref_schema, d.ref_name, d.ref_column)
        if column in touched.dropped:
            return (f"it uses column {label}.{d.ref_column}, which is dropped", False)
        if column in touched.retyped:
            return (f"it uses column {label}.{d.ref_column}, which changes type", True)
    if d.ref_kind == "relation" and ref in touched.views and d.kind in (*ROUTINE_KINDS, "policy"):
        back = touched.views[ref]
        return (f"it uses view {label}, which is dropped{' and re-created' if back else ''}", back)
    if d.ref_kind in ("row type", "signature") and ref in touched.tables:
        return (f"it uses the row type of table {label}, which is dropped", False)
    if d.ref_kind == "row type" and ref in touched.retyped_tables:
        return (f"its SQL body uses the row type of {label}, a column of which changes type", True)
    return None


def around_changes(current: Schema, desired: Schema, found: list[c.Change]) -> list[c.Change]:
    """The drops and re-creates that make way for `found`; `found` is rewritten in place where it already
    changes one of the objects concerned (the models' version is what is re-created, after the drop)."""
    touched = _touched(found)
    if not (touched.retyped or touched.dropped or touched.tables or touched.views):
        return []
    edges = [d for d in current.dependencies if d.kind not in VIEW_KINDS]
    why: dict[Node, tuple[str, bool]] = {}
    for d in edges:
        reason = _direct(d, touched)
        if reason is not None and _node(d) not in why:
            why[_node(d)] = reason
    wanted_routines = {(r.schema, routine_name(r)) for r in desired.routines}
    pruned = {(x.routine.schema, routine_name(x.routine)) for x in found if isinstance(x, c.DropRoutine)}
    grew = True
    while grew:  # what calls a routine that goes (triggers, policies, defaults, other SQL-standard bodies)
        grew = False
        for d in edges:
            node = _node(d)
            ref: Node = ("function", d.ref_schema, "", d.ref_name)
            if d.ref_kind != "function" or node in why:
                continue
            called = why.get(ref) or why.get(("procedure", *ref[1:]))
            if called is None:
                continue
            callee = (d.ref_schema, d.ref_name)
            callee_back = callee in wanted_routines or (called[1] and callee not in pruned)
            done = "dropped and re-created" if callee_back else "dropped"
            why[node] = (f"it calls {d.ref_name}, which is {done}", callee_back and not _goes(d, touched))
            grew = True
    if not why:
        return []
    return _changes(current, desired, found, why)


def _changes(
    current: Schema,
    desired: Schema,
    found: list[c.Change],
    why: dict[Node, tuple[str, bool]],
) -> list[c.Change]:
    routines = {(r.schema, routine_name(r)): r for r in current.routines}
    wanted_routines = {(r.schema, routine_name(r)): r for r in desired.routines}
    triggers = {t.key: t for t in current.triggers}
    policies = {p.key: p for p in current.policies}
    want_triggers = {t.key: t for t in desired.triggers}
    want_policies = {p.key: p for p in desired.policies}
    pruned = {("trigger", x.schema, x.table, x.name) for x in found if isinstance(x, c.DropTrigger)}
    pruned |= {("policy", x.schema, x.table, x.name) for x in found if isinstance(x, c.DropPolicy)}
    pruned |= {
        (x.routine.kind, x.routine.schema, "", routine_name(x.routine)) for x in found if isinstance(x, c.DropRoutine)
    }
    added = {("check", x.schema, x.table, x.constraint.name) for x in found if isinstance(x, c.AddCheck)}
    added |= {("index", x.schema, x.table, x.index.name) for x in found if isinstance(x, c.CreateIndex)}
    pruned |= {("check", x.schema, x.table, x.name) for x in found if isinstance(x, c.DropCheck)} - added
    pruned |= {("index", x.schema, x.table, x.name) for x in found if isinstance(x, c.DropIndex)} - added
    drops: list[c.Change] = []
    creates: list[c.Change] = []
    gone_routines: list[c.DropRoutine] = []
    done: set[Node] = set()
    for node, (reason, live_ok) in sorted(why.items()):
        kind, schema, table, name = node
        key = (schema, table, name)
        if kind == "trigger" and key in triggers:
            model = want_triggers.get(key)
            back = model is not None or (live_ok and node not in pruned)
            drops.append(c.DropTrigger(schema, table, name, reason, recreated=back))
            if back:
                creates.append(c.CreateTrigger(_kept(model, triggers[key])))
        elif kind == "policy" and key in policies:
            model_p = want_policies.get(key)
            back = model_p is not None or (live_ok and node not in pruned)
            drops.append(c.DropPolicy(schema, table, name, reason, recreated=back))
            if back:
                creates.append(c.CreatePolicy(_kept(model_p, policies[key])))
        elif kind in ROUTINE_KINDS and (schema, name) in routines:
            live = routines[(schema, name)]
            model_r = wanted_routines.get((schema, name))
            back = model_r is not None or (live_ok and node not in pruned)
            gone_routines.append(c.DropRoutine(live, reason=reason, recreated=back))
            if back:
                creates.append(c.CreateRoutine(_kept(model_r, live)))
        elif kind in ("check", "index"):
            pair = _check_or_index(current, desired, node, (reason, live_ok and node not in pruned))
            if pair is None:
                continue
            drops.append(pair[0])
            creates += [pair[1]] if pair[1] is not None else []
        elif kind == "default":
            column = current.table(schema, table)
            col = column.column(name) if column else None
            if col is None or col.default is None:
                continue
            model_t = desired.table(schema, table)
            model_col = model_t.column(name) if model_t else None
            restore = model_col.default if model_col is not None else col.default
            back = restore is not None and live_ok
            then = "; it is put back later in this transaction" if back else "; it is not put back"
            if restore is None:
                then = "; the models declare no default there, so it is not put back"
            drops.append(c.AlterColumnDefault(schema, table, name, None, col.default, reason=reason + then))
            if back:
                creates.append(c.AlterColumnDefault(schema, table, name, restore, None, reason=reason))
        else:
            continue
        done.add(node)
    by_name = {(x.routine.schema, routine_name(x.routine)): x for x in gone_routines}
    drops += [by_name[key] for key in _dependents_first(list(by_name), current)]
    made = {(x.routine.schema, routine_name(x.routine)): x for x in creates if isinstance(x, c.CreateRoutine)}
    callees_first = [made[key] for key in reversed(_dependents_first(list(made), current))]
    creates = callees_first + [x for x in creates if not isinstance(x, c.CreateRoutine)]
    found[:] = [x for x in found if not _superseded(x, done)]
    views = views_around_routines(
        current, desired, found, {(x.routine.schema, routine_name(x.routine)) for x in gone_routines}
    )
    return [*drops, *creates, *views]


def _check_or_index(
    current: Schema, desired: Schema, node: Node, why: tuple[str, bool]
) -> tuple[c.Change, c.Change | None] | None:
    """A CHECK or an index calling a routine that goes: dropped first, added again after (as the models declare
    it, else as it is) unless its table goes too. None when the table holds no such one."""
    kind, schema, table, name = node
    reason, live_ok = why
    live_t, model_t = current.table(schema, table), desired.table(schema, table)
    if live_t is None:
        return None
    back = live_ok and model_t is not None
    if kind == "check":
        live_k = next((k for k in live_t.checks if k.name == name), None)
        model_k = next((k for k in model_t.checks if k.name == name), None) if model_t else None
        if live_k is None:
            return None
        add = c.AddCheck(schema, table, model_k or live_k) if model_k is not None or back else None
        return (c.DropCheck(schema, table, name, reason), add)
    live_i = next((i for i in live_t.indexes if i.name == name), None)
    model_i = next((i for i in model_t.indexes if i.name == name), None) if model_t else None
    if live_i is None:
        return None
    build = c.CreateIndex(schema, table, model_i or live_i, reason) if model_i is not None or back else None
    return (c.DropIndex(schema, table, name, reason), build)


def kept_on_rebuilt(current: Schema, desired: Schema, found: list[c.Change]) -> list[c.Change]:
    """What a dropped and re-created view or routine carries that its CREATE does not: the privileges on it
    (every role's, as the database has them, but those the models revoke; PUBLIC's EXECUTE taken away again
    when it was) and a view's triggers (INSTEAD OF ones, as the models declare them, else as they are). Without them the rebuild would lose, silently, what
    plain `sync` keeps. A dropped view's triggers go with it: a prune of one of them is not planned again."""
    rebuilt: set[tuple[str, str, str, str]] = set()  # (grant kind, schema, name, arguments)
    restored: list[c.Change] = []
    dropped_views: set[tuple[str, str]] = set()
    for x in found:
        if isinstance(x, c.DropView):
            dropped_views.add((x.schema, x.name))
            if x.reason and x.recreated:
                rebuilt.add(("table", x.schema, x.name, ""))
        elif (isinstance(x, c.DropRoutine) and x.reason and x.recreated) or isinstance(x, c.RecreateRoutine):
            r = x.routine if isinstance(x, c.DropRoutine) else x.old
            rebuilt.add((r.kind, r.schema, r.name, r.arguments))
            if not r.public_execute:
                grant = Grant(r.kind, r.schema, r.name, r.arguments, "public", "EXECUTE")
                restored.append(c.RevokePrivilege(grant, restores=True))
    if not rebuilt and not dropped_views:
        return []
    revoked = {x.grant.key for x in found if isinstance(x, c.RevokePrivilege) and not x.grant_option_only}
    granted = {x.grant.key for x in found if isinstance(x, c.GrantPrivilege)}
    out: list[c.Change] = restored + [
        c.GrantPrivilege(g)
        for g in current.grants
        if (g.kind, g.schema, g.name, g.arguments) in rebuilt and g.key not in revoked and g.key not in granted
    ]
    pruned = {(x.schema, x.table, x.name) for x in found if isinstance(x, c.DropTrigger) and not x.reason}
    want = {t.key: t for t in desired.triggers}
    on_views = {t.key for t in current.triggers if (t.schema, t.table) in dropped_views}
    for t in current.triggers:
        if t.key in on_views and ("table", t.schema, t.table, "") in rebuilt and t.key not in pruned:
            model = want.get(t.key)
            out.append(c.CreateTrigger(_kept(model, t)))
    found[:] = [
        x
        for x in found
        if not (isinstance(x, c.DropTrigger) and (x.schema, x.table, x.name) in on_views)
        and not (isinstance(x, c.RecreateTrigger | c.AlterTriggerEnabled) and x.trigger.key in on_views)
    ]
    return out


def _superseded(change: c.Change, done: set[Node]) -> bool:
    """A change `found` already had for an object the around changes drop and re-create (or drop)."""
    node: Node | None = None
    if isinstance(change, c.RecreateTrigger | c.AlterTriggerEnabled):
        node = ("trigger", *change.trigger.key)
    elif isinstance(change, c.DropTrigger):
        node = ("trigger", change.schema, change.table, change.name)
    elif isinstance(change, c.AlterPolicy | c.RecreatePolicy):
        node = ("policy", *change.policy.key)
    elif isinstance(change, c.DropPolicy):
        node = ("policy", change.schema, change.table, change.name)
    elif isinstance(change, c.ReplaceRoutine | c.RecreateRoutine | c.DropRoutine):
        r = change.routine
        node = (r.kind, r.schema, "", routine_name(r))
    elif isinstance(change, c.AlterColumnDefault):
        node = ("default", change.schema, change.table, change.column)
    elif isinstance(change, c.DropCheck | c.DropIndex):
        node = ("check" if isinstance(change, c.DropCheck) else "index", change.schema, change.table, change.name)
    elif isinstance(change, c.AddCheck):
        node = ("check", change.schema, change.table, change.constraint.name)
    elif isinstance(change, c.CreateIndex):
        node = ("index", change.schema, change.table, change.index.name)
    return node is not None and node in done


def _dependents_first(routines: list[tuple[str, str]], current: Schema) -> list[tuple[str, str]]:
    """(schema, name(argument types)) of routines, each before the routines it calls (a SQL-standard body
    holds its callee: it is dropped first; reversed, the order to create them in)."""
    calls = {
        ((d.schema, d.name), (d.ref_schema, d.ref_name))
        for d in current.dependencies
        if d.kind in ROUTINE_KINDS and d.ref_kind == "function"
    }
    pending = sorted(routines)
    out: list[tuple[str, str]] = []
    while pending:
        ready = next((r for r in pending if not any((n, r) in calls for n in pending)), pending[0])
        out.append(ready)
        pending.remove(ready)
    return out


def _label(schema: str, name: str) -> str:
    return name if schema == "public" else f"{schema}.{name}"
