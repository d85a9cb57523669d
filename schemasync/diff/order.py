"""The order a migration runs in: one explicit phase list, plus a topological sort where tables depend on each other.

New schemas and extensions come first (what an extension provides, a type, is used by what follows),
then renames, so every later change uses the new names. Then everything that is going away
(foreign keys first, so nothing still points at what is dropped), then types and sequences, new
tables, column changes, keys, indexes, and foreign keys last, once every table and key they point
at exists; extensions are dropped at the very end, once nothing that used them is left. Tables are dropped referencing-first (graphlib, reversed); a foreign-key cycle among
dropped tables is broken by dropping those foreign keys first. Within a phase, changes keep the
order the comparators gave them (a column's own steps are already in the order PostgreSQL needs).
What is dropped to make way for a change and created again after it (`diff/dependents.py`) is placed
by `phase_of`; where routines and policies reading views join the views' drops and creates, that
phase follows the catalog's dependency graph (users dropped first, created last).
"""

from __future__ import annotations

import graphlib
from typing import get_args

from schemasync.diff import changes as c
from schemasync.schema import uses
from schemasync.schema.model import Schema

PHASES: tuple[tuple[type, ...], ...] = (
    (c.CreateSchema,),
    (c.CreateExtension, c.UpdateExtension),  # before the types and tables that use what they provide
    (c.Repartition,),
    (c.RenameTable,),
    (c.RenameColumn, c.RenameSequence, c.RenameConstraint, c.RenameIndex),
    (c.DropView,),  # dependents first (diff/views.py), before anything they use changes or goes
    (c.DropTrigger, c.DropPolicy),  # before the columns and functions they use
    (c.DropForeignKey,),
    (c.DetachPartition, c.DropPartition),
    (c.DropIndex, c.DropCheck, c.DropUnique, c.DropExclusion),
    (c.DropPrimaryKey,),
    (c.DropColumn,),
    (c.DropTable,),
    (c.DropRoutine,),  # after the triggers, defaults and checks that call them
    (c.CreateEnum, c.AddEnumValue, c.RecreateEnum, c.AlterEnumComment, c.CreateSequence),
    (c.CreateRange, c.RecreateRange),  # a range may be over an enum
    (c.CreateDomain, c.RecreateDomain, c.AlterDomainDefault, c.DropDomainCheck),  # a domain may be over an enum
    (c.CreateComposite, c.AlterComposite, c.RecreateComposite),  # attributes may be of an enum or a domain
    (c.CreateTable,),
    (
        c.AddColumn,
        c.AlterColumnGenerated,
        c.AlterColumnDefault,
        c.AlterColumnType,
        c.AlterColumnNullability,
        c.AlterColumnIdentity,
        c.AlterColumnComment,
        c.AlterTableComment,
        c.AlterTablePersistence,
        c.AlterTableOptions,
    ),
    (c.CreatePartition, c.AttachPartition),
    (c.CreateRoutine, c.ReplaceRoutine, c.RecreateRoutine),  # once the tables and columns their bodies use exist
    (c.AddPrimaryKey, c.AddUnique, c.AddCheck, c.AddExclusion, c.AlterDomainNullability, c.AddDomainCheck),
    (c.CreateView, c.ReplaceView),  # once every table and column they read is there; read views first
    (c.CreateIndex, c.AlterIndexOptions),
    (c.AddForeignKey,),
    (c.CreateTrigger, c.RecreateTrigger, c.AlterTriggerEnabled),  # after their tables and functions
    (c.CreatePolicy, c.AlterPolicy, c.RecreatePolicy, c.AlterRowSecurity),
    (c.AlterComment,),  # on objects that exist by then
    (c.AlterOwner,),  # before the grants: the owner's own privileges are implicit, the grants are the others'
    (c.RevokePrivilege, c.GrantPrivilege),  # on objects that exist by then
    (c.RevokeDefaultPrivilege, c.GrantDefaultPrivilege),  # in schemas that exist by then
    (c.ValidateConstraint,),
    (c.AlterSequence, c.DropComposite, c.DropDomain, c.DropRange, c.DropEnum, c.DropSequence),
    (c.DropExtension,),  # after everything that used it is gone
)
_PHASE_OF: dict[type, int] = {kind: n for n, kinds in enumerate(PHASES) for kind in kinds}
_missing = set(get_args(c.Change)) - set(_PHASE_OF)
if _missing:  # pragma: no cover - caught by the import in any test
    raise TypeError(f"changes without a phase: {sorted(k.__name__ for k in _missing)}")


Node = tuple[str, ...]


def _node(change: c.Change) -> Node | None:
    """The change's object in the dependency graph's terms (views and routines, and policies)."""
    if isinstance(change, c.DropView):
        return ("relation", change.schema, change.name)
    if isinstance(change, c.CreateView | c.ReplaceView):
        return ("relation", *change.view.key)
    if isinstance(change, c.DropRoutine | c.CreateRoutine):
        r = change.routine
        return ("routine", r.schema, f"{r.name}({r.arguments})")
    if isinstance(change, c.DropPolicy):
        return ("policy", change.schema, change.table, change.name)
    return None


def _uses(current: Schema) -> dict[Node, set[Node]]:
    """For each view, routine and policy: the views and routines it uses (the database's dependency graph)."""
    out: dict[Node, set[Node]] = {}
    views = {v.key for v in current.views}
    for d in current.dependencies:
        if d.kind in ("view", "materialized view"):
            node: Node = ("relation", d.schema, d.name)
        elif d.kind in ("function", "procedure"):
            node = ("routine", d.schema, d.name)
        elif d.kind == "policy" and d.table:
            node = ("policy", d.schema, d.table, d.name)
        else:
            continue
        if d.ref_kind == "function":
            out.setdefault(node, set()).add(("routine", d.ref_schema, d.ref_name))
        elif d.ref_kind == "relation" and (d.ref_schema, d.ref_name) in views:
            out.setdefault(node, set()).add(("relation", d.ref_schema, d.ref_name))
    return out


def _reads_views(node: Node | None, uses: dict[Node, set[Node]]) -> bool:
    return node is not None and any(u[0] == "relation" for u in uses.get(node, ()))


def phase_of(change: c.Change, uses: dict[Node, set[Node]] | None = None) -> int:
    """A change's phase: by its type, but a routine dropped, or a default taken off, to make way for a change
    under it (`diff/dependents.py`) goes after the triggers, policies, checks and indexes calling it are
    dropped and before the columns and tables go, and a default put back after such a routine is created
    again goes with the triggers created then. A routine or policy that reads a view (`uses`) is dropped
    with the views, and a routine reading one created with them, in the order of the graph (`_graph_order`)."""
    uses = uses or {}
    if isinstance(change, c.DropRoutine | c.DropPolicy) and change.reason and _reads_views(_node(change), uses):
        return _PHASE_OF[c.DropView]
    if isinstance(change, c.CreateRoutine) and _reads_views(_node(change), uses):
        return _PHASE_OF[c.CreateView]
    if isinstance(change, c.DropRoutine) and change.reason:
        return _PHASE_OF[c.DropPrimaryKey]
    if isinstance(change, c.AlterColumnDefault) and change.reason:
        return _PHASE_OF[c.DropPrimaryKey] if change.default is None else _PHASE_OF[c.CreateTrigger]
    return _PHASE_OF[type(change)]


def order(changes: list[c.Change], current: Schema, desired: Schema | None = None) -> list[c.Change]:
    """`current` is the database before the plan (after renames), used for dependencies among dropped tables;
    `desired` the models' schema, whose dependency graph orders what is created (`_creation_order`)."""
    changes = _break_drop_cycles(changes, current)
    dropped_fks = {(x.schema, x.table, x.name) for x in changes if isinstance(x, c.DropForeignKey)}
    new_fks = [x for x in changes if isinstance(x, c.AddForeignKey)]
    by_phase: dict[int, list[c.Change]] = {}
    graph = _uses(current)
    for change in changes:
        by_phase.setdefault(phase_of(change, graph), []).append(change)
    out: list[c.Change] = []
    creating: list[int] = []  # where the creation phases start and end in `out`
    for n in sorted(by_phase):
        batch = by_phase[n]
        if n in _CREATING:
            creating += [len(out), len(out) + len(by_phase[n])]
        if PHASES[n] == (c.DropTable,):
            batch = _drop_order(batch, current, dropped_fks)
        elif PHASES[n] == (c.CreateTable,):
            batch = _create_order(batch, new_fks)
        elif n in (_PHASE_OF[c.DropView], _PHASE_OF[c.CreateView]) and any(
            isinstance(x, c.DropRoutine | c.DropPolicy | c.CreateRoutine) for x in batch
        ):  # views alone come in the order diff/views.py gave them
            batch = _graph_order(batch, graph, users_first=n == _PHASE_OF[c.DropView])
        out.extend(batch)
    if desired is None or not creating:
        return out
    return _creation_order(out, (creating[0], creating[-1]), desired, current)


def _graph_order(batch: list[c.Change], uses: dict[Node, set[Node]], *, users_first: bool) -> list[c.Change]:
    """The batch in its own order, moved only where the graph requires: what uses another object before it
    (drops), or after it (creates). A cycle keeps the batch's order."""
    nodes = [_node(x) for x in batch]
    present = {n for n in nodes if n is not None}
    pending = list(range(len(batch)))
    out: list[c.Change] = []
    while pending:

        def blocked(i: int) -> bool:
            me = nodes[i]
            if me is None:
                return False
            for j in pending:
                other = nodes[j]
                if j == i or other is None or other not in present:
                    continue
                if (users_first and me in uses.get(other, ())) or (not users_first and other in uses.get(me, ())):
                    return True
            return False

        ready = next((i for i in pending if not blocked(i)), pending[0])
        out.append(batch[ready])
        pending.remove(ready)
    return out


Edges = dict[tuple[str, str], set[tuple[str, str]]]

# From new types to new indexes: what the phases above create, reordered by the models' dependency graph.
_CREATING = range(_PHASE_OF[c.CreateEnum], _PHASE_OF[c.CreateIndex] + 1)


def _creation_order(
    changes: list[c.Change], block: tuple[int, int], desired: Schema, current: Schema
) -> list[c.Change]:
    """The creations, each after what it needs by the models' dependency graph (`schema/uses.py`), else in
    phase order: a function a new table's default, check or generated column, or a domain's check, calls is
    created before the table or domain (and the relations and types it uses before it), a SQL function
    reading a new view after the view, a view calling a new function after the function. Only moves a
    change earlier to serve another. What the models do not declare but the plan re-creates from the database
    (a hand-made function dropped around a column change, `diff/dependents.py`) needs what the database's
    own graph says it does; a table's needs are the models' only, since the database's are what the plan
    is changing (a column retyped under a function must be retyped before that function is created again).
    `block` is where the creation phases lie in `changes`: by phase, not by type, since a default taken off
    or a routine dropped to make way for a change is of a creating type but runs among the drops."""
    start, end = block
    wanted = uses.graph(desired)
    needs = {n: refs for n, refs in uses.graph(current).items() if n[0] != "table" and n not in wanted} | wanted
    ordered = uses.dependency_first(
        changes[start:end], _provides, lambda x: _wants(x, needs), lambda node: needs.get(node, ())
    )
    return changes[:start] + ordered + changes[end:]


def _provides(change: c.Change) -> list[uses.Node]:
    """What a change makes exist for others to use: a table (or its new columns), a view, a routine."""
    match change:
        case c.CreateEnum(enum=t) | c.RecreateEnum(enum=t):
            return [uses.type_node(t.schema, t.name)]
        case c.CreateDomain(domain=t) | c.RecreateDomain(domain=t):
            return [uses.type_node(t.schema, t.name)]
        case c.CreateComposite(type=t) | c.RecreateComposite(type=t):
            return [uses.type_node(t.schema, t.name)]
        case c.AlterComposite() | c.AlterDomainDefault():
            return [uses.type_node(change.schema, change.name)]
        case c.CreateTable(table=t):
            return [uses.relation_node("table", *t.key)]
        case c.AddColumn() | c.AlterColumnType() | c.AlterColumnGenerated():
            return [uses.relation_node("table", change.schema, change.table)]
        case c.CreateView(view=v) | c.ReplaceView(view=v):
            return [uses.relation_node("view", *v.key)]
        case c.CreateRoutine(routine=r) | c.ReplaceRoutine(routine=r) | c.RecreateRoutine(routine=r):
            return [uses.routine_node(r)]
    return []


def _wants(change: c.Change, needs: uses.Graph) -> set[uses.Node]:
    """What a change needs to exist: a view's or routine's own uses; for what builds a table's columns,
    constraints and indexes, or a domain, the functions it uses."""
    match change:
        case c.CreateDomain(domain=t) | c.RecreateDomain(domain=t):
            return {n for n in needs.get(uses.type_node(t.schema, t.name), ()) if n[0] == "routine"}
        case c.AlterDomainDefault() | c.AddDomainCheck():
            return {n for n in needs.get(uses.type_node(change.schema, change.name), ()) if n[0] == "routine"}
        case c.CreateView(view=v) | c.ReplaceView(view=v):
            return needs.get(uses.relation_node("view", *v.key), set())
        case c.CreateRoutine(routine=r) | c.ReplaceRoutine(routine=r) | c.RecreateRoutine(routine=r):
            return needs.get(uses.routine_node(r), set())
    table = c.table_of(change)
    if table is None:
        return set()
    wanted = needs.get(uses.relation_node("table", *table), set()) | needs.get(
        uses.relation_node("view", *table), set()
    )
    return {n for n in wanted if n[0] == "routine"}


def _drop_edges(drops: set[tuple[str, str]], current: Schema, dropped_fks: set[tuple[str, str, str]]) -> Edges:
    """For each dropped table, the other dropped tables it still refers to when the tables go."""
    graph: Edges = {key: set() for key in drops}
    for key in drops:
        table = current.table(*key)
        for fk in table.foreign_keys if table else ():
            ref = (fk.ref_schema, fk.ref_table)
            if ref in drops and ref != key and (key[0], key[1], fk.name) not in dropped_fks:
                graph[key].add(ref)
    return graph


def _drop_order(batch: list[c.Change], current: Schema, dropped_fks: set[tuple[str, str, str]]) -> list[c.Change]:
    drops = {(d.schema, d.name): d for d in batch if isinstance(d, c.DropTable)}
    graph = _drop_edges(set(drops), current, dropped_fks)
    return [drops[key] for key in reversed(stable_order(graph))]


def _create_order(batch: list[c.Change], new_fks: list[c.AddForeignKey]) -> list[c.Change]:
    """Referenced tables first, so the plan reads naturally (foreign keys are added after all tables anyway)."""
    creates = {change.table.key: change for change in batch if isinstance(change, c.CreateTable)}
    graph: Edges = {key: set() for key in creates}
    for fk in new_fks:
        ref = (fk.constraint.ref_schema, fk.constraint.ref_table)
        if (fk.schema, fk.table) in graph and ref in graph and ref != (fk.schema, fk.table):
            graph[(fk.schema, fk.table)].add(ref)
    try:
        return [creates[key] for key in stable_order(graph)]
    except graphlib.CycleError:
        return batch  # a cycle: any order works, since the foreign keys come later


def stable_order(graph: Edges) -> list[tuple[str, str]]:
    """Dependencies first, ties broken by name, so the same diff always prints the same plan."""
    sorter = graphlib.TopologicalSorter(graph)
    sorter.prepare()
    out: list[tuple[str, str]] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        out.extend(ready)
        sorter.done(*ready)
    return out


def _break_drop_cycles(changes: list[c.Change], current: Schema) -> list[c.Change]:
    """Dropped tables that refer to each other in a cycle: drop the foreign keys among them first."""
    drops = {(d.schema, d.name) for d in changes if isinstance(d, c.DropTable)}
    if not drops:
        return changes
    dropped_fks = {(x.schema, x.table, x.name) for x in changes if isinstance(x, c.DropForeignKey)}
    try:
        graphlib.TopologicalSorter(_drop_edges(drops, current, dropped_fks)).prepare()
        return changes
    except graphlib.CycleError:
        pass
    extra: list[c.Change] = []
    for key in sorted(drops):
        table = current.table(*key)
        for fk in table.foreign_keys if table else ():
            if (fk.ref_schema, fk.ref_table) in drops and (key[0], key[1], fk.name) not in dropped_fks:
                extra.append(c.DropForeignKey(key[0], key[1], fk.name))
    return extra + changes
