"""Planning index changes: CREATE INDEX (blocking, or CONCURRENTLY when asked), DROP, RENAME.

With `concurrent_indexes`, an index on an existing table is built with CREATE INDEX CONCURRENTLY
after the transaction commits: writes go on during the build, but the build is not part of the
all-or-nothing transaction. If it fails it leaves an INVALID index behind, the run fails loudly (the
re-inspection sees it), and the next sync drops and rebuilds it. Without the setting the build is
inside the transaction and blocks writes to the table (SHARE lock) until COMMIT. Indexes on tables
the plan creates are always built in the transaction: they are empty.
"""

from __future__ import annotations

import re

from schemasync.diff import changes as c
from schemasync.diff.names import rebuild_name
from schemasync.plan import online
from schemasync.plan.dispatch import PlanContext, plan_change
from schemasync.plan.hazards import Hazard, HazardKind, Probe
from schemasync.plan.model import Statement
from schemasync.plan.sql import ident, idents
from schemasync.plan.tableprops import options_sql
from schemasync.schema.model import Index

_ORDERING = re.compile(r"\s+(ASC|DESC)?(\s+NULLS\s+(FIRST|LAST))?\s*$", re.IGNORECASE)


def index_sql(schema: str, table: str, index: Index, *, concurrently: bool = False, name: str = "") -> str:
    """`name`: build it under another name (an online rebuild's temporary one)."""
    sql = "CREATE UNIQUE INDEX" if index.unique else "CREATE INDEX"
    if concurrently:
        sql += " CONCURRENTLY"
    sql += f" {ident(name or index.name)} ON {ident(schema, table)} USING {index.method} ({', '.join(index.keys)})"
    if index.include:
        sql += f" INCLUDE ({idents(index.include)})"
    if index.nulls_not_distinct:
        sql += " NULLS NOT DISTINCT"
    if index.options:
        sql += f" WITH ({options_sql(index.options)})"
    if index.where:
        sql += f" WHERE {index.where}"
    return sql


def _label(schema: str, table: str) -> str:
    return table if schema == "public" else f"{schema}.{table}"


def _duplicates(ctx: PlanContext, change: c.CreateIndex) -> Hazard:
    """Repeated keys among the rows the unique index covers; counted only for plain keys."""
    index, s, t = change.index, change.schema, change.table
    keys = [_ORDERING.sub("", k) for k in index.keys]
    plain = not any(_top_level_space(k) for k in keys)
    fact = f"unique index {index.name} fails if rows of {_label(s, t)} repeat its key"
    renamed = bool([r for r in ctx.renames.columns if (r[0], r[1]) == (s, t)])
    if not plain or renamed:
        return Hazard(HazardKind.DATA_DEPENDENT, fact + " (not counted: keys with operator classes or renamed columns)")
    where = [f"({k}) IS NOT NULL" for k in keys] if not index.nulls_not_distinct else ["true"]
    if index.where:
        where.append(index.where)
    return Hazard(
        HazardKind.DATA_DEPENDENT,
        fact,
        probe=Probe(
            s,
            ctx.renames.old_table(s, t),
            "duplicates",
            predicate=" AND ".join(where),
            columns=tuple(keys),
            template=f"{_label(s, t)} has {{count}} of the key: remove the duplicates before "
            f"building unique index {index.name}",
        ),
    )


@plan_change.register
def plan_create_index(change: c.CreateIndex, ctx: PlanContext) -> list[Statement]:
    s, t, index = change.schema, change.table, change.index
    if ctx.is_new(s, t):
        return [Statement(index_sql(s, t, index))]
    if change.reason:  # its function was dropped in the transaction: built in it too, never after it
        built = f"builds {index.name} on {_label(s, t)} again ({ctx.size_of(s, t)}), blocking writes"
        return [Statement(index_sql(s, t, index), (Hazard(HazardKind.INDEX_BUILD, built),) if ctx.big(s, t) else ())]
    hazards: list[Hazard] = []
    if index.unique:
        hazards.append(_duplicates(ctx, change))
    built = f"builds {index.name} on {_label(s, t)} ({ctx.size_of(s, t)})"
    if ctx.online and online.is_rebuild(ctx, s, t, index.name):
        build = index_sql(s, t, index, concurrently=True, name=rebuild_name(index.name))
        return online.rebuild_index(
            ctx, change, build, (*hazards, Hazard(HazardKind.INDEX_BUILD, built + " without blocking writes"))
        )
    if ctx.concurrent_indexes:
        hazards += [
            Hazard(HazardKind.INDEX_BUILD, built + " without blocking writes"),
            Hazard(
                HazardKind.CORRECTNESS,
                "runs after the transaction commits (CONCURRENTLY cannot run in one); if it fails, "
                "an invalid index is left that the next sync rebuilds",
            ),
        ]
        drop = f"DROP INDEX CONCURRENTLY IF EXISTS {ident(s, index.name)}"
        return [Statement(index_sql(s, t, index, concurrently=True), tuple(hazards), transactional=False, undo=drop)]
    if ctx.big(s, t):
        hazards.append(Hazard(HazardKind.INDEX_BUILD, built))
        hazards += ctx.locking(s, t, "blocks writes (SHARE lock) until the transaction commits")
    return [Statement(index_sql(s, t, index), tuple(hazards))]


@plan_change.register
def plan_drop_index(change: c.DropIndex, ctx: PlanContext) -> list[Statement]:
    if change.reason:
        fact = (
            f"drops index {change.name} on {_label(change.schema, change.table)} and builds it again later in this "
            f"transaction ({change.reason})"
        )
        return [Statement(f"DROP INDEX {ident(change.schema, change.name)}", (Hazard(HazardKind.CORRECTNESS, fact),))]
    if ctx.online and online.is_rebuild(ctx, change.schema, change.table, change.name):
        return []  # the CreateIndex that follows swaps the old index out once its replacement is built
    fact = f"queries on {_label(change.schema, change.table)} that used {change.name} may slow down"
    return [Statement(f"DROP INDEX {ident(change.schema, change.name)}", (Hazard(HazardKind.INDEX_DROPPED, fact),))]


@plan_change.register
def plan_rename_index(change: c.RenameIndex, ctx: PlanContext) -> list[Statement]:
    return [Statement(f"ALTER INDEX {ident(change.schema, change.old)} RENAME TO {ident(change.new)}")]


def _top_level_space(key: str) -> bool:
    """A space outside parentheses and quotes: the key carries an operator class or collation."""
    depth, quote = 0, ""
    for ch in key:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == " " and depth == 0:
            return True
    return False
