"""The kinds sqlacodegen does not write, as the declarations README documents for them.

sqlacodegen writes tables from SQLAlchemy's reflection, which knows nothing of extensions, composite
types, views or partitions as schemasync manages them. Each is written here from our own inspection
(`schema/inspect.py`) as the DDL event the engine recognises and manages (README: Schema changes):

- extensions: `CREATE EXTENSION IF NOT EXISTS name [WITH SCHEMA s] VERSION 'v'` before the tables (the
  version the database has, pinned: the models say what the database is);
- domains and composite types: `CREATE DOMAIN` / `CREATE TYPE ... AS (...)` before the tables, in
  dependency order (a domain over a composite type, a composite with a domain attribute); a column
  of a composite type uses a `UserDefinedType` whose `get_col_spec()` is the type's name;
- partitions: `CREATE TABLE name PARTITION OF parent <bound>` after their parent is created, exactly the
  form the engine manages (name, parent, bound);
- functions and procedures (`pg_get_functiondef`, the planner's statement), views and materialized views
  with their indexes, in one order by the dependency graph (`schema/uses.py`: pg_depend, and the string
  bodies of SQL functions read): a SQL function reading a view after it, a view calling a function after
  that. A function a table's default, check, index or partition key calls is created before the table
  (`before_create`, see `routines_and_views`); the rest after the tables. Then triggers, row-level security
  (`ENABLE` / `FORCE`), policies, grants and default privileges, all on the MetaData, so each comes after
  the functions and objects it names (a table's own after_create events would run before the MetaData's functions);
- comments on all of these (`COMMENT ON ...`, the planner's statement), last.

Every SQL text is a Python literal (`repr`) with `%` doubled for DDL's own formatting, so no name or body
(quotes, `$$`) can break out of it. Names in `public` are left unqualified, as README asks for domains
and types; other schemas are qualified, and the engine maps them to its scratch schemas.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from schemasync.diff import changes as c
from schemasync.diff.comments import commented, key_of
from schemasync.diff.routines import creation_order as routine_order
from schemasync.diff.views import creation_order
from schemasync.plan.comments import comment_sql
from schemasync.plan.domains import create_sql as domain_sql
from schemasync.plan.grants import default_privilege_sql, grant_sql
from schemasync.plan.indexes import index_sql
from schemasync.plan.ranges import create_sql as range_sql
from schemasync.plan.routines import create_sql as routine_sql
from schemasync.plan.security import policy_sql, row_security_sql
from schemasync.plan.sql import ident, literal
from schemasync.plan.views import view_sql
from schemasync.schema import uses
from schemasync.schema.model import CompositeType, Domain, Extension, RangeType, Routine, Schema, Table, View

DEFAULT_SCHEMA = "public"
log = logging.getLogger(__name__)


def _ddl(target: str, when: str, sql: str) -> str:
    return f'event.listen({target}, "{when}", DDL({sql.replace("%", "%%")!r}))'


def _name(schema: str, name: str) -> str:
    """An identifier as the models declare it: unqualified in public (README: domains, composite types)."""
    return ident(name) if schema == DEFAULT_SCHEMA else ident(schema, name)


def extension_sql(x: Extension) -> str:
    where = "" if x.schema == DEFAULT_SCHEMA else f" WITH SCHEMA {ident(x.schema)}"
    version = f" VERSION {literal(x.version)}" if x.version is not None else ""
    return f"CREATE EXTENSION IF NOT EXISTS {ident(x.name)}{where}{version}"


def composite_sql(t: CompositeType) -> str:
    attributes = ", ".join(
        f"{ident(a.name)} {a.type}" + (f" COLLATE {a.collation}" if a.collation is not None else "")
        for a in t.attributes
    )
    return f"CREATE TYPE {_name(t.schema, t.name)} AS ({attributes})"


def type_name(schema: str, name: str) -> str:
    """The name a column's type is written with (format_type's spelling, public unqualified)."""
    return _name(schema, name)


_PART = r'(?:[^".\s\[]+|"(?:[^"]|"")*")'
_QUALIFIED_TYPE = re.compile(rf"(?P<schema>{_PART})\.(?P<name>{_PART})")


def split_type(spelled: str) -> tuple[str, str, bool] | None:
    """(schema, name, is_array) of a qualified type as format_type prints it: `public.money[]`, quoted parts unquoted."""
    array = spelled.endswith("[]")
    parts = _QUALIFIED_TYPE.fullmatch(spelled.removesuffix("[]"))
    if parts is None:
        return None
    return _unquote(parts["schema"]), _unquote(parts["name"]), array


def _unquote(part: str) -> str:
    return part[1:-1].replace('""', '"') if part.startswith('"') else part


def _type_order(schema: Schema) -> list[Domain | CompositeType]:
    """Domains and composite types, each after the ones its definition names (else in name order)."""
    pending: list[Domain | CompositeType] = sorted(
        [*schema.domains, *schema.composites], key=lambda t: (t.schema, t.name)
    )

    def uses(t: Domain | CompositeType) -> set[tuple[str, str]]:
        spelled = [t.type] if isinstance(t, Domain) else [a.type for a in t.attributes]
        return {found[:2] for found in map(split_type, spelled) if found is not None}

    ordered: list[Domain | CompositeType] = []
    while pending:
        ready = next(
            (t for t in pending if not any((o.schema, o.name) in uses(t) for o in pending if o is not t)),
            pending[0],  # a cycle PostgreSQL itself would refuse: keep going in name order
        )
        ordered.append(ready)
        pending.remove(ready)
    return ordered


def _domain_sql(d: Domain) -> str:
    sql = domain_sql(d)
    qualified = f"CREATE DOMAIN {ident(d.schema, d.name)} "
    return f"CREATE DOMAIN {_name(d.schema, d.name)} " + sql.removeprefix(qualified)


_CLASS_WORD = re.compile(r"[A-Za-z0-9]+")


def composite_class(t: CompositeType | RangeType, taken: set[str]) -> str:
    """A Python class name for the composite or range type's `UserDefinedType`, unique among `taken`."""
    words = _CLASS_WORD.findall(t.name if t.schema == DEFAULT_SCHEMA else f"{t.schema}_{t.name}")
    base = ("".join(w[:1].upper() + w[1:] for w in words) or "Composite") + "Type"
    if base[0].isdigit():
        base = "T" + base
    name, n = base, 2
    while name in taken:
        name, n = f"{base}{n}", n + 1
    taken.add(name)
    return name


def composite_classes(classes: dict[tuple[str, str], str]) -> str:
    """The `UserDefinedType` classes columns of composite and range types use (README: composite types)."""
    if not classes:
        return ""
    lines = ["", ""]
    for (schema, name), cls in sorted(classes.items(), key=lambda kv: kv[1]):
        lines += [
            f"class {cls}(UserDefinedType):",
            '    """A composite or range type (its CREATE TYPE event is at the end of this module)."""',
            "",
            "    cache_ok = True",
            "",
            "    def get_col_spec(self, **kw: object) -> str:",
            f"        return {type_name(schema, name)!r}",
            "",
            "",
        ]
    return "\n".join(lines[:-2]) + "\n"


def before_tables(schema: Schema, routines: Sequence[tuple[uses.Node, str]] = ()) -> list[str]:
    """Extensions, range types, then domains and composite types, what the tables' columns may use, with the `routines`
    (node, statement) created before the tables: a function a domain's check calls before the domain, one
    taking a domain or composite argument after it (`schema/uses.py`)."""
    out = [_ddl("Base.metadata", "before_create", extension_sql(x)) for x in sorted(schema.extensions, key=_ext_key)]
    out += [_ddl("Base.metadata", "before_create", range_sql(r)) for r in sorted(schema.ranges, key=lambda r: r.key)]
    needs = uses.graph(schema)
    items: list[tuple[uses.Node, str]] = [
        (uses.type_node(t.schema, t.name), _domain_sql(t) if isinstance(t, Domain) else composite_sql(t))
        for t in _type_order(schema)
    ] + list(routines)
    ordered = uses.dependency_first(
        items, lambda x: [x[0]], lambda x: needs.get(x[0], ()), lambda node: needs.get(node, ())
    )
    return out + [_ddl("Base.metadata", "before_create", sql) for _, sql in ordered]


def _ext_key(x: Extension) -> str:
    return x.name


def partitions(tables: list[Table]) -> list[str]:
    """Each partitioned table's direct partitions, as DDL events on the parent's `Table`."""
    out = []
    for table in tables:
        key = table.name if table.schema == DEFAULT_SCHEMA else f"{table.schema}.{table.name}"
        for p in table.partition_bounds:
            sql = f"CREATE TABLE {_name(p.schema, p.name)} PARTITION OF {_name(table.schema, table.name)} {p.bound}"
            out.append(_ddl(f"Base.metadata.tables[{key!r}]", "after_create", sql))
    return out


def _table_key(schema: str, name: str) -> str:
    """The `Base.metadata.tables` key of a table."""
    return name if schema == DEFAULT_SCHEMA else f"{schema}.{name}"


def _table(schema: str, name: str) -> str:
    return f"Base.metadata.tables[{_table_key(schema, name)!r}]"


def routines_and_views(schema: Schema, tables: list[Table]) -> tuple[list[tuple[uses.Node, str]], list[str], list[str]]:
    """Functions, procedures, views and materialized views (with their indexes), each after what it needs by
    the dependency graph (`schema/uses.py`): (routines created with the types before the tables, as (node,
    statement) for `before_tables`; events on the tables before they are created; events after the tables).

    A routine a written table's default, check, index or partition key, or a domain's check, calls (or one such
    a routine calls) must exist before that table: one that reads no table goes with the types; one
    whose SQL body reads tables is a `before_create` event on the first table needing it, which is made to
    depend (`add_is_dependent_on`) on the tables the routine reads, and every other table needing it on that
    one, so `create_all` creates them in that order. The rest come after the tables, routines and views in
    one order: a SQL function reading a view after the view, a view calling a function after the function."""
    needs = uses.graph(schema)
    items: list[Routine | View] = [
        *routine_order(schema.routines, schema),
        *creation_order(list(schema.views), schema, schema),
    ]
    node = {
        id(x): (uses.routine_node(x) if isinstance(x, Routine) else uses.relation_node(x.kind, *x.key)) for x in items
    }
    ordered = uses.dependency_first(
        items, lambda x: [node[id(x)]], lambda x: needs.get(node[id(x)], ()), lambda n: needs.get(n, ())
    )
    by_node = {node[id(x)]: x for x in ordered}
    written = sorted((t.schema, t.name) for t in tables)
    users: dict[uses.Node, list[tuple[str, str]]] = {}  # routine -> the written tables that need it first
    for t in written:
        for ref in sorted(needs.get(uses.relation_node("table", *t), ())):
            if ref[0] == "routine" and ref in by_node:
                users.setdefault(ref, []).append(t)
    for d in sorted(schema.domains, key=lambda d: d.key):
        for ref in sorted(needs.get(uses.type_node(d.schema, d.name), ())):
            if ref[0] == "routine" and ref in by_node:
                users.setdefault(ref, [])
    pending = list(users)
    while pending:  # what those routines call is needed as early
        for ref in sorted(needs.get(pending.pop(), ())):
            if ref[0] == "routine" and ref in by_node and ref not in users:
                users[ref] = []
                pending.append(ref)
    reads = {n: sorted(r[1:3] for r in needs.get(n, ()) if r[0] == "table" and r[1:3] in written) for n in users}
    home: dict[uses.Node, tuple[str, str]] = {}  # a routine reading tables -> the table it is created with
    for n in [uses.routine_node(r) for r in ordered if isinstance(r, Routine)]:
        called = [home[r] for r in needs.get(n, ()) if r in home]
        if n in users and (reads[n] or called):
            home[n] = (users[n] or called or reads[n])[0]
    with_types: list[tuple[uses.Node, str]] = []
    before: list[str] = []
    depends: dict[tuple[str, str], set[tuple[str, str]]] = {}
    after: list[str] = []
    for x in ordered:
        n = node[id(x)]
        if isinstance(x, View):
            texts = [view_sql(x)] + [index_sql(x.schema, x.name, i) for i in x.indexes]
            after += [_ddl("Base.metadata", "after_create", t) for t in texts]
        elif n not in users:
            after.append(_ddl("Base.metadata", "after_create", routine_sql(x)))
        elif n not in home:
            with_types.append((n, routine_sql(x)))
        else:
            at = home[n]
            before.append(_ddl(_table(*at), "before_create", routine_sql(x)))
            wanted = {*reads[n], *(home[r] for r in needs.get(n, ()) if r in home)}
            depends.setdefault(at, set()).update(wanted - {at})
            for other in users[n]:
                if other != at:
                    depends.setdefault(other, set()).add(at)
    for t, others in sorted(depends.items()):
        before += [f"{_table(*t)}.add_is_dependent_on({_table(*o)})" for o in sorted(others)]
    return with_types, before, after


def security(schema: Schema, tables: list[Table], *, with_routines: bool) -> list[str]:
    """Triggers, row-level security flags, policies and grants of the written objects, after the functions and
    views they name. Without the routines (`--table`), the triggers and policies that may call them are left out."""
    written = {(t.schema, t.name) for t in tables}
    relations = written | ({(v.schema, v.name) for v in schema.views} if with_routines else set())
    out: list[str] = []
    if with_routines:
        for t in sorted(schema.triggers, key=lambda t: t.key):
            if (t.schema, t.table) not in written:
                continue
            if t.enabled != "O":
                log.warning(
                    "Trigger %s on %s.%s is written enabled: its enabled state (%s) is not declarable yet.",
                    t.name,
                    t.schema,
                    t.table,
                    t.enabled,
                )
            out.append(_ddl("Base.metadata", "after_create", t.definition))
    for r in sorted(schema.row_security, key=lambda r: r.key):
        if (r.schema, r.table) in written:
            flags = [f for f, on in (("ENABLE", r.enabled), ("FORCE", r.forced)) if on]
            out += [_ddl("Base.metadata", "after_create", row_security_sql(r.schema, r.table, f)) for f in flags]
    if with_routines:
        policies = [p for p in sorted(schema.policies, key=lambda p: p.key) if (p.schema, p.table) in written]
        out += [_ddl("Base.metadata", "after_create", policy_sql(p)) for p in policies]
    out += [
        _ddl("Base.metadata", "after_create", grant_sql(g))
        for g in sorted(schema.grants, key=lambda g: g.key)
        if ((g.schema, g.name) in relations if g.kind == "table" else with_routines)
    ]
    schemas = {t.schema for t in tables}
    out += [
        _ddl("Base.metadata", "after_create", default_privilege_sql(d))
        for d in sorted(schema.default_privileges, key=lambda d: d.key)
        if d.schema in schemas
    ]
    return out


def comments(schema: Schema, tables: list[Table], *, with_views: bool) -> list[str]:
    """`COMMENT ON` the written domains, composite types and (with the views) functions, procedures, views,
    triggers and policies, last, once each object exists (README: comments)."""
    written = {(t.schema, t.name) for t in tables}
    out = []
    for value in commented(schema):
        kind, on_schema, table, name, arguments = key_of(value)
        if value.comment is None or (kind not in ("domain", "type") and not with_views):
            continue
        if table and (on_schema, table) not in written:
            continue
        change = c.AlterComment(kind, on_schema, name, table, arguments, value.comment)  # type: ignore[arg-type]
        sql = comment_sql(change)
        if kind in ("domain", "type"):  # named as its CREATE names it (unqualified in public), so it finds it
            sql = sql.replace(f"{kind.upper()} {ident(on_schema, name)}", f"{kind.upper()} {_name(on_schema, name)}", 1)
        out.append(_ddl("Base.metadata", "after_create", sql))
    return out


def events_source(schema: Schema, tables: list[Table], *, with_views: bool) -> str:
    """The module's tail: every DDL event above, grouped under comments saying what manages them."""
    with_types, early, late = routines_and_views(schema, tables) if with_views else ([], [], [])
    sections = [
        (
            "Extensions, range types, domains, composite types and the functions tables and domains call, created before the "
            "tables (README: Schema changes).",
            before_tables(schema, with_types),
        ),
        ("Partitions, created with their partitioned table (README: partitioned tables).", partitions(tables)),
        (
            "Functions and procedures the tables' defaults, checks and indexes call (and read tables), created "
            "before those tables.",
            early,
        ),
        (
            "Functions, procedures, views and materialized views, each after what it reads or calls "
            "(README: functions, procedures...; views).",
            late,
        ),
        (
            "Triggers, row-level security, policies and grants, after what they name (README: privileges).",
            security(schema, tables, with_routines=with_views),
        ),
        (
            "Comments on them, once they exist (README: comments).",
            comments(schema, tables, with_views=with_views),
        ),
    ]
    lines: list[str] = []
    for comment, events in sections:
        if events:
            lines += ["", f"# {comment}", *events]
    if not lines:
        return ""
    return "\n\nfrom sqlalchemy import DDL, event  # noqa: E402\n" + "\n".join(lines) + "\n"
