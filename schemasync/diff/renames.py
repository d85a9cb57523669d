"""Renames: declared ones become RENAME changes; likely undeclared ones become suggestions, never changes.

A declared hint applies only while it is needed: when the old name exists in the database and the
new one does not (on both counts, as the models see it). After the rename has run, the hint is
inert, so keeping it in the models is harmless and a second sync plans nothing.

`apply_renames` gives the database schema as it will look once the renames have run (constraints
and expressions follow a renamed column, foreign keys follow a renamed table, exactly as PostgreSQL
does it), so every other comparator can match by name.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Literal

from schemasync.diff.changes import Change, RenameColumn, RenameTable
from schemasync.diff.names import replace_identifier
from schemasync.schema.model import ForeignKey, RenameHints, Schema, Table


@dataclass(frozen=True, slots=True)
class Renames:
    """Renames the plan performs: tables (schema, old, new) and columns (schema, table's new name, old, new)."""

    tables: tuple[tuple[str, str, str], ...] = ()
    columns: tuple[tuple[str, str, str, str], ...] = ()

    def old_table(self, schema: str, name: str) -> str:
        return next((old for s, old, new in self.tables if (s, new) == (schema, name)), name)

    def new_table(self, schema: str, name: str) -> str:
        return next((new for s, old, new in self.tables if (s, old) == (schema, name)), name)

    def old_column(self, schema: str, table: str, column: str) -> str:
        return next((old for s, t, old, new in self.columns if (s, t, new) == (schema, table, column)), column)

    def new_column(self, schema: str, table: str, column: str) -> str:
        return next((new for s, t, old, new in self.columns if (s, t, old) == (schema, table, column)), column)

    def changes(self) -> list[Change]:
        out: list[Change] = [RenameTable(s, old, new) for s, old, new in self.tables]
        out += [RenameColumn(s, t, old, new) for s, t, old, new in self.columns]
        return out


def find_renames(current: Schema, desired: Schema, hints: RenameHints) -> Renames:
    cur_tables = {t.key: t for t in current.tables}
    des_keys = {t.key for t in desired.tables}
    tables: list[tuple[str, str, str]] = []
    columns: list[tuple[str, str, str, str]] = []
    for des in desired.tables:
        partner = cur_tables.get(des.key)
        if partner is None:
            old = hints.old_table(des.schema, des.name)
            if old and (des.schema, old) in cur_tables and (des.schema, old) not in des_keys:
                tables.append((des.schema, old, des.name))
                partner = cur_tables[(des.schema, old)]
        if partner is None:
            continue
        have = {c.name for c in partner.columns}
        want = {c.name for c in des.columns}
        for col in des.columns:
            if col.name in have:
                continue
            old_col = hints.old_column(des.schema, des.name, col.name)
            if old_col and old_col in have and old_col not in want:
                columns.append((des.schema, des.name, old_col, col.name))
    return Renames(tuple(tables), tuple(columns))


def apply_renames(current: Schema, renames: Renames) -> Schema:
    """The database schema as it will be after the plan's renames (and before anything else)."""
    if not renames.tables and not renames.columns:
        return current
    return replace(
        current,
        tables=tuple(_renamed_table(t, renames) for t in current.tables),
        # What hangs on a table follows it (a trigger's printed definition still names the old table, so
        # it is recreated under the new name rather than created a second time).
        triggers=tuple(replace(x, table=renames.new_table(x.schema, x.table)) for x in current.triggers),
        row_security=tuple(replace(x, table=renames.new_table(x.schema, x.table)) for x in current.row_security),
        policies=tuple(replace(x, table=renames.new_table(x.schema, x.table)) for x in current.policies),
    )


def _renamed_table(table: Table, renames: Renames) -> Table:
    name = renames.new_table(table.schema, table.name)
    moved = [(old, new) for s, t, old, new in renames.columns if (s, t) == (table.schema, name)]

    def col(c: str) -> str:
        return renames.new_column(table.schema, name, c)

    def expr(text: str | None) -> str | None:
        if text is None:
            return None
        for old, new in moved:
            text = replace_identifier(text, old, new)
        return text

    def fk(f: ForeignKey) -> ForeignKey:
        ref_table = renames.new_table(f.ref_schema, f.ref_table)
        return replace(
            f,
            columns=tuple(map(col, f.columns)),
            ref_table=ref_table,
            ref_columns=tuple(renames.new_column(f.ref_schema, ref_table, c) for c in f.ref_columns),
        )

    return replace(
        table,
        name=name,
        columns=tuple(replace(c, name=col(c.name), generated=expr(c.generated)) for c in table.columns),
        primary_key=replace(table.primary_key, columns=tuple(map(col, table.primary_key.columns)))
        if table.primary_key
        else None,
        uniques=tuple(replace(u, columns=tuple(map(col, u.columns))) for u in table.uniques),
        foreign_keys=tuple(fk(f) for f in table.foreign_keys),
        checks=tuple(replace(c, expression=expr(c.expression) or "") for c in table.checks),
        indexes=tuple(
            replace(
                i,
                keys=tuple(expr(k) or "" for k in i.keys),
                include=tuple(map(col, i.include)),
                where=expr(i.where),
            )
            for i in table.indexes
        ),
    )


@dataclass(frozen=True, slots=True)
class RenameSuggestion:
    """A dropped and an added table or column of the same shape: possibly a rename nobody declared."""

    kind: Literal["table", "column"]
    schema: str
    table: str  # for a column: the table as the models name it; for a table: the new name
    old: str
    new: str

    @property
    def hints(self) -> RenameHints:
        if self.kind == "table":
            return RenameHints(tables=((self.schema, self.new, self.old),))
        return RenameHints(columns=((self.schema, self.table, self.new, self.old),))

    def describe(self) -> str:
        if self.kind == "table":
            return f"table {self.schema}.{self.old} -> {self.new}"
        return f"column {self.schema}.{self.table}.{self.old} -> {self.new}"


def suggest_renames(current: Schema, desired: Schema) -> tuple[RenameSuggestion, ...]:
    """Unambiguous one-to-one pairs only; `current` is the already renamed database schema."""
    out: list[RenameSuggestion] = []
    cur = {t.key: t for t in current.tables}
    des = {t.key: t for t in desired.tables}
    gone = [t for k, t in cur.items() if k not in des]
    new = [t for k, t in des.items() if k not in cur]

    def shape(t: Table) -> Counter[tuple[str, str]]:
        return Counter((c.name, c.type) for c in t.columns)

    for t in new:
        same = [g for g in gone if g.schema == t.schema and shape(g) == shape(t)]
        if len(same) == 1 and sum(1 for n in new if n.schema == t.schema and shape(n) == shape(t)) == 1:
            out.append(RenameSuggestion("table", t.schema, t.name, same[0].name, t.name))
    for key, d in des.items():
        c = cur.get(key)
        if c is None:
            continue
        have = {col.name: col for col in c.columns}
        want = {col.name: col for col in d.columns}
        removed = [col for name, col in have.items() if name not in want]
        added = [col for name, col in want.items() if name not in have]
        for a in added:
            matches = [r for r in removed if r.type == a.type]
            rivals = [x for x in added if x.type == a.type]
            if len(matches) == 1 and len(rivals) == 1:
                out.append(RenameSuggestion("column", d.schema, d.name, matches[0].name, a.name))
    return tuple(out)
