"""`compare(current, desired, options)`: two schema values in, an ordered list of typed changes out.

`analyse` is the same with everything around the changes that a person needs to see: objects left
alone because the models do not declare them (dropped only with prune; `diff/unmanaged.py`), rename suggestions for the
interactive prompt (a non-interactive run never acts on them), the renames the changes perform,
and the hash of the database side the changes were computed from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from schemasync.diff import changes as c
from schemasync.diff.comments import compare_comments
from schemasync.diff.composites import compare_composites
from schemasync.diff.dependents import around_changes, kept_on_rebuilt
from schemasync.diff.domains import compare_domains
from schemasync.diff.enums import compare_enums
from schemasync.diff.extensions import compare_extensions, only_freed
from schemasync.diff.grants import compare_default_privileges, compare_grants
from schemasync.diff.order import order
from schemasync.diff.owners import compare_owners
from schemasync.diff.ranges import compare_ranges
from schemasync.diff.renames import Renames, RenameSuggestion, apply_renames, find_renames, suggest_renames
from schemasync.diff.routines import compare_routines, compare_triggers
from schemasync.diff.schemas import compare_schemas
from schemasync.diff.scope import CompareOptions, restrict
from schemasync.diff.security import compare_policies, compare_row_security
from schemasync.diff.sequences import compare_sequences
from schemasync.diff.tables import compare_tables
from schemasync.diff.undeclared import adopt_live_names
from schemasync.diff.unmanaged import Unmanaged, left_alone
from schemasync.diff.views import compare_views, kept_views
from schemasync.schema.model import Reported, Schema, Table


@dataclass(frozen=True, slots=True)
class Diff:
    changes: tuple[c.Change, ...]
    unmanaged: tuple[Unmanaged, ...] = ()
    suggestions: tuple[RenameSuggestion, ...] = ()
    renames: Renames = field(default_factory=Renames)
    source: Schema = field(default_factory=Schema)  # the database side, restricted to the compared scope
    reported: tuple[Reported, ...] = ()  # views, functions, triggers...: listed, never changed

    @property
    def empty(self) -> bool:
        return not self.changes

    @property
    def source_hash(self) -> str:
        """What a plan from this diff was made from (computed on demand: `check` never needs it)."""
        return self.source.sorted().hash()


def compare(current: Schema, desired: Schema, options: CompareOptions | None = None) -> list[c.Change]:
    return list(analyse(current, desired, options).changes)


def analyse(current: Schema, desired: Schema, options: CompareOptions | None = None) -> Diff:
    options = options or CompareOptions()
    cur = restrict(current, desired, options)
    des = restrict(desired, desired, options)
    renames = find_renames(cur, des, options.hints)
    after = apply_renames(cur, renames)
    # Tables equal on both sides (almost all of them on a large schema) are tested once here, and the
    # passes below skip them: nothing to adopt, compare or leave alone there.
    have = {t.key: t for t in after.tables}
    equal = _equal_tables(have, des.tables)
    des = adopt_live_names(after, des, renames, equal=equal)
    equal |= _equal_tables(have, [t for t in des.tables if t.key not in equal])
    found: list[c.Change] = [
        *renames.changes(),
        *compare_schemas(after, des),
        *compare_extensions(after, des, options),
        *compare_enums(after, des, options),
        *compare_domains(after, des, options),
        *compare_composites(after, des, options),
        *compare_ranges(after, des, options),
        *compare_sequences(after, des, options),
        *compare_tables(after, des, options, equal=equal),
        *compare_routines(after, des, options),
        *compare_triggers(after, des, options),
        *compare_row_security(after, des, options),
        *compare_policies(after, des, options),
        *compare_grants(after, des, options),
        *compare_default_privileges(after, des, options),
    ]
    found += _dependent_foreign_keys(found, after, des)
    found += compare_views(after, des, found, options)
    found += around_changes(after, des, found)
    found += kept_on_rebuilt(after, des, found)
    found += compare_comments(after, des, found, options)
    found += compare_owners(after, des, found, options)
    found = only_freed(found, after)
    lost = {(x.schema, x.table, x.name) for x in found if isinstance(x, c.DropForeignKey) and x.lost}
    return Diff(
        changes=tuple(order(found, after, des)),
        unmanaged=tuple(
            u
            for u in left_alone(after, des, options, equal=equal)
            if not (u.kind == "foreign key" and (u.schema, u.table, u.name) in lost)
        )
        + tuple(Unmanaged(kind, schema, name, table) for kind, schema, name, table in kept_views(after, des, options)),
        suggestions=suggest_renames(after, des),
        renames=renames,
        source=cur,
        reported=cur.reported,
    )


def _equal_tables(have: dict[tuple[str, str], Table], tables: Iterable[Table]) -> set[tuple[str, str]]:
    """Keys of `tables` whose counterpart in `have` is equal to them."""
    return {t.key for t in tables if have.get(t.key) == t}


def _dependent_foreign_keys(found: list[c.Change], current: Schema, desired: Schema) -> list[c.Change]:
    """Foreign keys pointing at a key that is dropped or rebuilt: drop them first, add them back after.

    One the models do not declare (a DBA's, left alone otherwise) comes back as it was when the models
    keep a key on the columns it references; when they do not, it cannot, and its drop says so as a
    CORRECTNESS hazard instead of going unnoticed while it is listed as left alone.
    """
    dropped_keys: set[tuple[str, str, tuple[str, ...]]] = set()
    have = {t.key: t for t in current.tables}
    for change in found:
        if not isinstance(change, c.DropPrimaryKey | c.DropUnique | c.DropIndex):
            continue
        table = have.get(c.table_of(change) or ("", ""))
        if table is None:
            continue
        match change:
            case c.DropPrimaryKey() if table.primary_key:
                dropped_keys.add((table.schema, table.name, table.primary_key.columns))
            case c.DropUnique(name=name):
                for u in table.uniques:
                    if u.name == name:
                        dropped_keys.add((table.schema, table.name, u.columns))
            case c.DropIndex(name=name):
                for i in table.indexes:
                    if i.name == name and i.unique:
                        dropped_keys.add((table.schema, table.name, i.keys))
    if not dropped_keys:
        return []
    dropped = {(x.schema, x.table, x.name) for x in found if isinstance(x, c.DropForeignKey)}
    added = {(x.schema, x.table, x.constraint.name) for x in found if isinstance(x, c.AddForeignKey)}
    out: list[c.Change] = []
    wanted_tables = {t.key: t for t in desired.tables}
    for table in current.tables:
        for fk in table.foreign_keys:
            if (fk.ref_schema, fk.ref_table, fk.ref_columns) not in dropped_keys:
                continue
            key = (table.schema, table.name, fk.name)
            want = wanted_tables.get(table.key)
            again = next((f for f in want.foreign_keys if f.name == fk.name), None) if want else None
            lost = ""
            if again is None and key not in dropped:  # not declared, and not dropped on purpose (prune)
                referenced = wanted_tables.get((fk.ref_schema, fk.ref_table))
                if referenced is not None and _has_key(referenced, fk.ref_columns):
                    again = fk
                else:
                    lost = (
                        f"drops foreign key {fk.name} on {table.qualified}, which the models do not declare: the key "
                        f"it references, {fk.ref_table} ({', '.join(fk.ref_columns)}), is dropped and not kept by the "
                        "models, so it cannot be added back"
                    )
            if key not in dropped:
                out.append(c.DropForeignKey(*key, lost=lost))
            if again is not None and key not in added:
                out.append(c.AddForeignKey(table.schema, table.name, again))
    return out


def _has_key(table: Table, columns: tuple[str, ...]) -> bool:
    """Whether `table` keeps a primary key, unique constraint or whole unique index on exactly `columns`."""
    want = set(columns)
    keys = [table.primary_key.columns] if table.primary_key else []
    keys += [u.columns for u in table.uniques]
    keys += [i.keys for i in table.indexes if i.unique and i.where is None]
    return any(set(k) == want and len(k) == len(want) for k in keys)
