"""What must exist before a table, view or routine is created: the graph the plan and `introspect` order by.

The edges are the catalog's (`Schema.uses`, read from `pg_depend` by `sql/uses.sql`): the functions a
table's defaults, checks, indexes and partition key call, what a view reads and calls, and what a
routine with a SQL-standard body (BEGIN ATOMIC, RETURN) reads and calls. A routine whose body is a
string is text PostgreSQL keeps without recording what it names, yet a SQL-language one is checked when
it is created (`check_function_bodies`), so what it reads must exist by then: its body is parsed here
(pglast) for the relations and functions it names, each matched by name (qualified names exactly,
unqualified ones in the routine's own schema first, then `public`, then any inspected schema; a call
matches every overload). Bodies in other languages (plpgsql...) are not checked at creation, and are
not read: what they name may come after them, and nothing orders them but their key (the documented
fallback). A body that does not parse contributes no edges.

`dependency_first` is the order: each item after what it needs (transitively, also through objects not
in the list), otherwise in the order given; a cycle is broken where it is found.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, TypeVar

from schemasync.schema.model import Routine, Schema, Use

Node = tuple[str, str, str, str]  # (kind: "table" | "view" | "routine" | "type", schema, name, arguments)
Graph = dict[Node, set[Node]]
T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


def routine_node(r: Routine) -> Node:
    return ("routine", r.schema, r.name, r.arguments)


def type_node(schema: str, name: str) -> Node:
    """A domain, enum or composite type."""
    return ("type", schema, name, "")


def relation_node(kind: str, schema: str, name: str) -> Node:
    return ("view" if kind in ("view", "materialized view") else "table", schema, name, "")


def graph(schema: Schema) -> Graph:
    """Each table, view, routine and domain -> what it needs to exist before it is created."""
    out: Graph = {}
    for u in (*schema.uses, *body_uses(schema)):
        if u.node != u.ref:
            out.setdefault(u.node, set()).add(u.ref)
    return out


def body_uses(schema: Schema) -> list[Use]:
    """The relations and routines named in the string bodies of SQL-language routines (see module docstring)."""
    relations: dict[str, list[Node]] = {}
    for t in schema.tables:
        relations.setdefault(t.name, []).append(relation_node("table", t.schema, t.name))
    for v in schema.views:
        relations.setdefault(v.name, []).append(relation_node(v.kind, v.schema, v.name))
    routines: dict[str, list[Node]] = {}
    for r in schema.routines:
        routines.setdefault(r.name, []).append(routine_node(r))
    out: list[Use] = []
    for r in schema.routines:
        names = _body_names(r.definition)
        if names is None:
            continue
        me = routine_node(r)
        for kind, qualifier, name in names:
            pool = relations if kind == "relation" else routines
            for ref in _resolve(pool.get(name, []), qualifier, r.schema):
                out.append(Use(*me, *ref))
    return out


def _resolve(candidates: list[Node], qualifier: str | None, own: str) -> list[Node]:
    if qualifier is not None:
        return [n for n in candidates if n[1] == qualifier]
    for schema in (own, "public"):
        found = [n for n in candidates if n[1] == schema]
        if found:
            return found
    return candidates


@functools.lru_cache(maxsize=1024)
def _body_names(definition: str) -> tuple[tuple[str, str | None, str], ...] | None:
    """("relation" | "routine", schema or None, name) named in a SQL-language string body; None otherwise."""
    from pglast import ast, parse_sql  # lazy: start-up (pglast; only when routines are ordered)
    from pglast.parser import ParseError  # lazy: start-up (pglast; only when routines are ordered)
    from pglast.visitors import Visitor  # lazy: start-up (pglast; only when routines are ordered)

    try:
        statements = parse_sql(definition)
    except ParseError:
        return None
    stmt = statements[0].stmt if len(statements) == 1 else None
    if not isinstance(stmt, ast.CreateFunctionStmt) or stmt.sql_body is not None:
        return None  # a SQL-standard body's uses are in pg_depend
    options = {o.defname: o.arg for o in stmt.options or ()}
    language, body = options.get("language"), options.get("as")
    if getattr(language, "sval", "").lower() != "sql" or not body or len(body) != 1:
        return None
    try:
        parsed = parse_sql(body[0].sval)
    except ParseError:
        return None
    found: list[tuple[str, str | None, str]] = []

    class Names(Visitor):  # type: ignore[misc]
        def visit_RangeVar(self, ancestors: Any, node: ast.RangeVar) -> None:
            found.append(("relation", node.schemaname, node.relname))

        def visit_FuncCall(self, ancestors: Any, node: ast.FuncCall) -> None:
            parts = [p.sval for p in node.funcname]
            found.append(("routine", parts[-2] if len(parts) > 1 else None, parts[-1]))

    for statement in parsed:
        Names()(statement)
    return tuple(dict.fromkeys(found))


def dependency_first(
    items: Sequence[T],
    provides: Callable[[T], Iterable[K]],
    wants: Callable[[T], Iterable[K]],
    needs: Callable[[K], Iterable[K]],
) -> list[T]:
    """`items`, each after the items providing what it wants, else in the given order.

    `provides(item)`: the nodes an item creates (a new table and an added column both provide their table);
    `wants(item)`: the nodes it needs; `needs(node)`: what a node needs, followed through the nodes no item
    provides (a routine reading a view the plan keeps, which calls a routine the plan creates). A cycle is
    broken where it is met: the item whose visit closes it comes first."""
    providers: dict[K, list[int]] = {}
    for i, item in enumerate(items):
        for node in provides(item):
            providers.setdefault(node, []).append(i)
    emitted: set[int] = set()
    visiting: set[int] = set()
    out: list[T] = []

    def prerequisites(i: int) -> list[int]:
        seen: set[K] = set()
        stack = list(wants(items[i]))
        found: set[int] = set()
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            if node in providers:
                found.update(providers[node])
            else:
                stack.extend(needs(node))
        return sorted(found - {i})

    def visit(i: int) -> None:
        if i in emitted or i in visiting:
            return
        visiting.add(i)
        for j in prerequisites(i):
            visit(j)
        visiting.discard(i)
        emitted.add(i)
        out.append(items[i])

    for i in range(len(items)):
        visit(i)
    return out
