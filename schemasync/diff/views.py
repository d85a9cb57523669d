"""Views and materialized views: create, replace in place where PostgreSQL can, rebuild where it cannot.

A view is compared by its definition as PostgreSQL prints it (`pg_get_viewdef`, read the same way on
both sides), its output columns and its options. A plain view whose old columns all stay, in order,
with their types (new ones only added at the end) is changed with `CREATE OR REPLACE VIEW`, which
keeps its dependents and grants; anything else (a column removed, renamed or retyped, a materialized
view changed at all) is a drop and a re-create. A materialized view's indexes are compared like a
table's, and re-created with it.

Dependents. PostgreSQL refuses to change what a view uses: `ALTER COLUMN ... TYPE` on a column a view
reads, dropping such a column or table, or dropping a view another view reads. So every view that
depends (through the catalog's dependency graph, `Schema.dependencies`, transitively) on a column
whose type changes, a column or table that is dropped, or a view that is rebuilt, is dropped before
the change and re-created after it, in the same transaction: from the models' definition when the
models declare it, else from its own live definition (a view the models do not declare is left as
it was). Views the models do not declare are otherwise left alone, and dropped only with prune.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import replace as replace_view

from schemasync.diff import changes as c
from schemasync.diff.expressions import _canon
from schemasync.diff.scope import CompareOptions
from schemasync.schema.model import Dependency, Index, Schema, View

Key = tuple[str, str]
VIEW_KINDS = ("view", "materialized view")


def compare_views(
    current: Schema, desired: Schema, found: Iterable[c.Change], options: CompareOptions
) -> list[c.Change]:
    """`current`: the database after renames; `found`: the other changes (what dependents must make way for)."""
    have = {v.key: v for v in current.views}
    want = {v.key: v for v in desired.views}
    out: list[c.Change] = []
    rebuild: dict[Key, str] = {}  # view -> why it is dropped and re-created
    replace: list[View] = []
    for key, view in sorted(want.items()):
        old = have.get(key)
        if old is None:
            continue
        if same_view(old, view):
            continue
        if replaceable(old, view):
            replace.append(view)
        else:
            rebuild[key] = "its definition changed in a way CREATE OR REPLACE cannot do"
    pruned = {key for key in have if key not in want and options.prune}
    touched = _touched(found)
    dropped = {(x.schema, x.table, x.name) for x in found if isinstance(x, c.DropColumn)}
    around = _dependents(
        current, touched, {}, pruned, dropped
    )  # the reason a reader needs first: what they make way for
    rebuild = around | {key: why for key, why in rebuild.items() if key not in around}
    rebuild |= _dependents(current, touched, rebuild, pruned, dropped)
    lost = _lost(current, found, rebuild, want)
    for key in sorted(set(rebuild) | pruned, key=lambda k: _drop_rank(current, k)):
        old = have[key]
        out.append(c.DropView(old.schema, old.name, old.materialized, rebuild.get(key, ""), recreated=key not in lost))
    creates = [carried(want.get(key), have[key], options) for key in rebuild if key not in lost]
    creates += [v for k, v in want.items() if k not in have]
    for view in creation_order(creates, desired, current):
        reason = rebuild.get(view.key, "")
        if reason and view.key not in want:
            reason += "; not in the models"
        lost_ix = lost_indexes(want.get(view.key), have[view.key], options) if reason else []
        if lost_ix:
            reason += (
                f"; {', '.join(lost_ix)}, made by hand (not in the models), cannot be created again on it: "
                "it names what the new view does not have, or schemasync cannot tell"
            )
        out.append(c.CreateView(view, reason))
    out += [c.ReplaceView(v, have[v.key]) for v in replace if v.key not in rebuild]
    for key, view in sorted(want.items()):
        old = have.get(key)
        if old is not None and key not in rebuild and view.materialized:
            out += _indexes(old, view, options)
    return out


def carried(model: View | None, live: View, options: CompareOptions | None) -> View:
    """What a rebuilt view is created again as: the models' view (else the live one), with what the operator
    made by hand on the live one that the models do not declare: its comment and (without prune) the indexes
    of a materialized view, those whose columns the new view still has."""
    if model is None:
        return live
    columns = {name for name, _ in model.columns}
    declared = {i.name for i in model.indexes}
    pruning = options is not None and options.prune
    kept = tuple(
        i
        for i in live.indexes
        if not pruning and i.name not in declared and model.materialized and _index_columns(i) <= columns
    )
    return replace_view(model, comment=model.comment or live.comment, indexes=model.indexes + kept)


def lost_indexes(model: View | None, live: View, options: CompareOptions) -> list[str]:
    """Names of the live materialized view's undeclared indexes a rebuild cannot keep (a column they use is gone)."""
    if model is None or options.prune:
        return []
    kept = {i.name for i in carried(model, live, options).indexes}
    return [i.name for i in live.indexes if i.name not in kept and i.name not in {j.name for j in model.indexes}]


def _index_columns(index: Index) -> set[str]:
    """The plain column names an index's keys, INCLUDE list and predicate use (quoted or not)."""
    words: set[str] = set()
    for text in (*index.keys, *index.include, index.where or ""):
        words |= {w.strip('"') for w in re.findall(r'"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*', text)}
    return {w for w in words if w.lower() not in _SQL_WORDS}


_SQL_WORDS = frozenset(
    {"asc", "desc", "nulls", "first", "last", "collate", "and", "or", "not", "is", "null", "true", "false"}
)


def _lost(current: Schema, found: Iterable[c.Change], rebuild: dict[Key, str], want: dict[Key, View]) -> set[Key]:
    """Rebuilt views the models do not declare whose live definition names a dropped column or table (or such a
    view): they cannot be created again as they were, so they are dropped, with a hazard, and not re-created."""
    gone: set[tuple[str, str, str | None]] = set()
    for change in found:
        if isinstance(change, c.DropColumn):
            gone.add((change.schema, change.table, change.name))
        elif isinstance(change, c.DropTable):
            gone.add((change.schema, change.name, None))
    out: set[Key] = set()
    grew = bool(gone)
    while grew:
        grew = False
        for d in current.dependencies:
            key = (d.schema, d.name)
            if d.kind not in VIEW_KINDS or d.ref_kind != "relation" or key in out or key not in rebuild or key in want:
                continue
            ref = (d.ref_schema, d.ref_name)
            if (*ref, None) in gone or (*ref, d.ref_column) in gone or ref in out:
                out.add(key)
                grew = True
    return out


def same_view(old: View, new: View) -> bool:
    """Equal as values, or equal definitions in normal form (PostgreSQL's printed SQL is not a fixed point).

    Indexes aside: a materialized view's indexes are compared one by one (`_indexes`), an undeclared one
    left alone."""
    if old == new:
        return True
    if (old.materialized, old.columns, old.options, old.populated) != (
        new.materialized,
        new.columns,
        new.options,
        new.populated,
    ):
        return False
    return definition_form(old.definition) == definition_form(new.definition)


def replaceable(old: View, new: View) -> bool:
    """CREATE OR REPLACE VIEW can do it: plain views, the old columns kept in order (names and types)."""
    return not old.materialized and not new.materialized and new.columns[: len(old.columns)] == old.columns


@functools.lru_cache(maxsize=1024)
def definition_form(definition: str) -> object:
    """A view's SELECT in the normal form of `diff/expressions.py` (the whole statement), else its words."""
    from pglast import parse_sql  # lazy: start-up (pglast: only views are parsed)
    from pglast.parser import ParseError  # lazy: start-up (pglast: only views are parsed)

    try:
        statements = parse_sql(definition)
    except ParseError:
        return " ".join(definition.split())
    if len(statements) != 1:
        return " ".join(definition.split())
    return _canon(statements[0].stmt, frozenset())


def _touched(found: Iterable[c.Change]) -> set[tuple[str, str, str | None]]:
    """(schema, relation, column or None for all of it) that the other changes alter under a view."""
    out: set[tuple[str, str, str | None]] = set()
    for change in found:
        match change:
            case c.AlterColumnType(schema=s, table=t, column=col) | c.DropColumn(schema=s, table=t, name=col):
                out.add((s, t, col))
            case c.AlterColumnGenerated(schema=s, table=t, column=col):
                out.add((s, t, col.name))
            case c.DropTable(schema=s, name=n):
                out.add((s, n, None))
            case c.RecreateEnum(columns=uses):
                out |= {(u.schema, u.table, u.column) for u in uses}
    return out


def other_dependents(current: Schema, change: c.Change) -> list[Dependency]:
    """String-bodied functions (plpgsql, `AS $$...$$`) whose signature takes or returns the row type of the table
    a column of which changes type or is dropped.

    PostgreSQL records no use of a column by such a body, so it lets the change happen under them (those with a
    SQL-standard body, which it does hold, are dropped and re-created around it: `diff/dependents.py`); the
    plan names them (`plan/views.py`), since their bodies may now fail when called.
    """
    if not isinstance(change, c.AlterColumnType | c.DropColumn | c.AlterColumnGenerated):
        return []
    found = {
        d
        for d in current.dependencies
        if d.ref_kind == "signature" and (d.ref_schema, d.ref_name) == (change.schema, change.table)
    }
    return sorted(found, key=lambda d: (d.kind, d.schema, d.name))


def views_around_routines(
    current: Schema, desired: Schema, found: Iterable[c.Change], routines: set[tuple[str, str]]
) -> list[c.Change]:
    """Views calling a routine that is dropped and re-created around a change (and the views reading them),
    which `compare_views` did not already rebuild: dropped before the routine, re-created after it."""
    if not routines:
        return []
    have = {v.key: v for v in current.views}
    want = {v.key: v for v in desired.views}
    already = {(x.schema, x.name) for x in found if isinstance(x, c.DropView)}
    direct: dict[Key, str] = {}
    for d in current.dependencies:
        key = (d.schema, d.name)
        called = d.ref_kind == "function" and (d.ref_schema, d.ref_name) in routines
        if d.kind in VIEW_KINDS and called and key in have and key not in already:
            direct.setdefault(key, f"it calls {d.ref_name}, which is dropped and re-created")
    rebuild = direct | _dependents(current, set(), direct, already)
    out: list[c.Change] = []
    for key in sorted(rebuild, key=lambda k: _drop_rank(current, k)):
        old = have[key]
        out.append(c.DropView(old.schema, old.name, old.materialized, rebuild[key]))
    for view in creation_order([carried(want.get(key), have[key], None) for key in rebuild], desired, current):
        out.append(
            c.CreateView(view, rebuild[view.key] if view.key in want else f"{rebuild[view.key]}; not in the models")
        )
    return out


def _dependents(
    current: Schema,
    touched: set[tuple[str, str, str | None]],
    rebuilt: dict[Key, str],
    pruned: set[Key],
    dropped: set[tuple[str, str, str]] | None = None,
) -> dict[Key, str]:
    """Every view that must be dropped and re-created around the changes, with why (transitively)."""
    views = {v.key for v in current.views}
    edges = [
        d
        for d in current.dependencies
        if d.kind in VIEW_KINDS and d.ref_kind == "relation" and (d.schema, d.name) in views
    ]
    out: dict[Key, str] = {}
    gone = set(rebuilt) | pruned
    changed = True
    while changed:
        changed = False
        for d in edges:
            key = (d.schema, d.name)
            if key in out or key in gone:
                continue
            why = _why(d, touched, gone, dropped or set())
            if why:
                out[key] = why
                gone.add(key)
                changed = True
    return out


def _why(
    d: Dependency, touched: set[tuple[str, str, str | None]], gone: set[Key], dropped: set[tuple[str, str, str]]
) -> str:
    if (d.ref_schema, d.ref_name) in gone:
        return f"it depends on {_label(d.ref_schema, d.ref_name)}, which is dropped and re-created"
    if (d.ref_schema, d.ref_name, None) in touched:
        return f"it depends on table {_label(d.ref_schema, d.ref_name)}, which is dropped"
    if d.ref_column is not None and (d.ref_schema, d.ref_name, d.ref_column) in touched:
        what = "is dropped" if (d.ref_schema, d.ref_name, d.ref_column) in dropped else "changes"
        return f"it depends on column {_label(d.ref_schema, d.ref_name)}.{d.ref_column}, which {what}"
    return ""


def _drop_rank(current: Schema, key: Key) -> tuple[int, Key]:
    """Dependents first: a view is dropped before the views it reads (more levels above it drop earlier)."""
    return (-_depth(current, key, frozenset()), key)


def _depth(schema: Schema, key: Key, seen: frozenset[Key]) -> int:
    uses = {(d.ref_schema, d.ref_name) for d in schema.dependencies if (d.schema, d.name) == key}
    uses = {u for u in uses if schema.view(*u) is not None and u not in seen}
    return 1 + max((_depth(schema, u, seen | {key}) for u in uses), default=0)


def creation_order(views: list[View], desired: Schema, current: Schema) -> list[View]:
    """The views a view reads first (by the models' dependency graph, else the database's)."""

    def depth(view: View) -> int:
        source = desired if desired.view(*view.key) == view else current
        return _depth(source, view.key, frozenset())

    return sorted(views, key=lambda v: (depth(v), v.key))


def _indexes(old: View, new: View, options: CompareOptions) -> list[c.Change]:
    have = {i.name: i for i in old.indexes}
    want = {i.name: i for i in new.indexes}
    out: list[c.Change] = []
    for name, index in sorted(want.items()):
        before = have.get(name)
        if before is not None and before.shape() == index.shape() and before.valid:
            continue
        if before is not None:
            out.append(c.DropIndex(old.schema, old.name, name))
        out.append(c.CreateIndex(new.schema, new.name, index))
    if options.prune:
        out += [c.DropIndex(old.schema, old.name, name) for name in sorted(have) if name not in want]
    return out


def kept_views(current: Schema, desired: Schema, options: CompareOptions) -> list[tuple[str, str, str, str | None]]:
    """(kind, schema, name, table) of views and matview indexes in the database the models do not declare."""
    if options.prune:
        return []
    want = {v.key: v for v in desired.views}
    out: list[tuple[str, str, str, str | None]] = []
    for view in current.views:
        model = want.get(view.key)
        if model is None:
            out.append((view.kind, view.schema, view.name, None))
            continue
        declared = {i.name for i in model.indexes}
        out += [("index", view.schema, i.name, view.name) for i in view.indexes if i.name not in declared]
    return out


def _label(schema: str, name: str) -> str:
    return name if schema == "public" else f"{schema}.{name}"
