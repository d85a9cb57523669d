"""What the diff leaves alone because the models do not declare it, listed so that a person sees it.

Without prune: tables, columns, enums, sequences, domains, composite types and extensions the models do not have, and on the tables the
models do have, the indexes and constraints they do not declare and the comments, collations and
identities their columns leave unset, and the comments the models leave unset on their views, domains,
composite types, routines, triggers and policies (the comparators leave exactly these alone; prune drops or
resets them). With or without prune: the partitions of a table that stays, which are part of that
table and never tables of their own.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from schemasync.diff.columns import keep_undeclared
from schemasync.diff.comments import kept_comments
from schemasync.diff.constraints import kept_constraints
from schemasync.diff.grants import default_text, left_alone_default_privileges, left_alone_grants
from schemasync.diff.indexes import kept_indexes
from schemasync.diff.partitions import attached_tables, kept_partitions
from schemasync.diff.ranges import left_alone_ranges
from schemasync.diff.routines import left_alone_routines
from schemasync.diff.scope import CompareOptions
from schemasync.diff.security import left_alone_security
from schemasync.diff.tableprops import kept_properties
from schemasync.diff.tables import relation_names
from schemasync.schema.model import Grant, Schema, Table, Trigger


@dataclass(frozen=True, slots=True)
class Unmanaged:
    """Something in the database the models do not have, left alone because prune is off."""

    kind: str  # table, column, enum, sequence, index, unique constraint, ..., comment, partition
    schema: str
    name: str
    table: str | None = None
    note: str = ""

    def describe(self) -> str:
        where = f"{self.schema}.{self.table}.{self.name}" if self.table else f"{self.schema}.{self.name}"
        return f"{self.kind} {where}" + (f" ({self.note})" if self.note else "")


def left_alone(
    current: Schema, desired: Schema, options: CompareOptions, *, equal: AbstractSet[tuple[str, str]] | None = None
) -> tuple[Unmanaged, ...]:
    """`current`: the database after the plan's renames; `desired`: with undeclared names adopted;
    `equal`: the keys of the tables equal on both sides, when the caller has already tested them."""
    out: list[Unmanaged] = []
    wanted_tables = {t.key: t for t in desired.tables}
    taken: dict[str, set[str]] | None = None  # every relation name: only needed for a table that differs
    attached = attached_tables(current, desired)
    for table in sorted(current.tables, key=lambda t: t.key):
        want = wanted_tables.get(table.key)
        if want is None and (options.prune or table.key in attached):
            continue  # dropped, partitions and all; or attached as a declared partition
        if want is None:
            out.append(Unmanaged("table", table.schema, table.name))
        elif not options.prune and (table != want if equal is None else table.key not in equal):
            # equal tables (the usual case) leave nothing alone
            taken = taken if taken is not None else relation_names(current)
            out += _on_table(table, want, options, taken.get(table.schema, set()))
        if want is not None and want.partition_bounds:
            out += _undeclared_partitions(table, want, options)
        else:
            out += _partitions(table)
    if not options.prune:
        wanted_enums = {e.key for e in desired.enums}
        out += [Unmanaged("enum", e.schema, e.name) for e in current.enums if e.key not in wanted_enums]
        wanted_seqs = {s.key for s in desired.sequences}
        out += [Unmanaged("sequence", s.schema, s.name) for s in current.sequences if s.key not in wanted_seqs]
        wanted_domains = {d.key for d in desired.domains}
        out += [Unmanaged("domain", d.schema, d.name) for d in current.domains if d.key not in wanted_domains]
        wanted_composites = {t.key for t in desired.composites}
        out += [
            Unmanaged("composite type", t.schema, t.name) for t in current.composites if t.key not in wanted_composites
        ]
        out += [Unmanaged("range type", r.schema, r.name) for r in left_alone_ranges(current, desired)]
        wanted_exts = {x.key for x in desired.extensions}
        out += [
            Unmanaged("extension", x.schema, x.name, note=f"version {x.version}")
            for x in current.extensions
            if x.key not in wanted_exts
        ]
        for kind, obj in left_alone_routines(current, desired):
            if isinstance(obj, Trigger):
                out.append(Unmanaged(kind, obj.schema, obj.name, obj.table))
            else:
                out.append(Unmanaged(kind, obj.schema, f"{obj.name}({obj.arguments})"))
        out += [Unmanaged(*item) for item in left_alone_security(current, desired)]
        out += [
            Unmanaged(f"{kind} comment", schema, name, table, _value("comment", comment, None))
            for kind, schema, name, table, comment in kept_comments(current, desired)
        ]
        out += [Unmanaged("privilege", g.schema, grant_text(g)) for g in left_alone_grants(current, desired)]
        out += [
            Unmanaged("default privilege", d.schema, default_text(d))
            for d in left_alone_default_privileges(current, desired)
        ]
    return tuple(out)


def _partitions(table: Table) -> list[Unmanaged]:
    out = []
    for qualified in table.partitions:
        schema, _, name = qualified.partition(".")
        out.append(Unmanaged("partition", schema, name, note=f"of {table.qualified}: part of that table, never pruned"))
    return out


def _undeclared_partitions(table: Table, want: Table, options: CompareOptions) -> list[Unmanaged]:
    """On a table whose partitions the models declare, the ones they do not: left alone, dropped with prune."""
    out = []
    for qualified in kept_partitions(table, want, options):
        schema, _, name = qualified.partition(".")
        out.append(Unmanaged("partition", schema, name, note=f"of {table.qualified}: not declared by the models"))
    return out


def _on_table(table: Table, want: Table, options: CompareOptions, taken: set[str]) -> list[Unmanaged]:
    s, t = table.schema, table.name
    out: list[Unmanaged] = []
    wanted = {col.name: col for col in want.columns}
    for col in table.columns:
        model = wanted.get(col.name)
        if model is None:
            blocking = not col.nullable and col.default is None and col.identity is None and col.generated is None
            note = "NOT NULL without a default: inserts that do not set it will fail" if blocking else ""
            out.append(Unmanaged("column", s, col.name, t, note))
            continue
        for kind in keep_undeclared(col, model)[1]:
            out.append(Unmanaged(f"column {kind}", s, col.name, t, _value(kind, col.comment, col.collation)))
    if table.comment is not None and want.comment is None:
        out.append(Unmanaged("table comment", s, t, note=_value("comment", table.comment, None)))
    out += [Unmanaged(kind, s, name, t) for kind, name in kept_constraints(table, want, options)]
    out += [Unmanaged("index", s, name, t) for name in kept_indexes(table, want, options, taken)]
    out += [Unmanaged(kind, s, name, t, note) for kind, name, note in kept_properties(table, want, options)]
    return out


def _value(kind: str, comment: str | None, collation: str | None) -> str:
    if kind == "comment" and comment is not None:
        return repr(comment if len(comment) <= 40 else comment[:37] + "...")
    return collation or "" if kind == "collation" else ""


def grant_text(g: Grant) -> str:
    """How a left-alone privilege is named: `SELECT (email) on table users to analyst`."""
    return f"{g.privilege}{f' ({g.column})' if g.column else ''} on {g.kind} {g.name or g.schema} to {g.grantee}"
