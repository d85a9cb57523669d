"""`compare`: the detailed differences between two schemas from anywhere in the database's life.

A side is named by a reference (`resolve`): `live` (the database now), `models` (what the models
ask for), `latest` (the newest snapshot), a recorded version (`1.4.0` or `version:1.4.0`), a
`schema_versions` row (`12` or `id:12`), an on-demand snapshot (its label, `label:NAME`, or
`snapshot:N`), or a file (a path: `snapshot --output` files, backup manifests, schema JSON).

The differences are the engine's own diff (`diff.analyse`) from the older side to the newer, with
prune on (compare describes, it plans nothing, so whatever is gone is reported as gone) and no
rename hints (a rename shows as a drop and an add, with the likely renames listed). Scope: the
schemas of both sides, or the models' schemas when one side is the models (the models only speak
for the schemas they use); `include_tables` / `exclude_tables` apply as everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, assert_never

from packaging.version import InvalidVersion, Version
from psycopg import sql
from psycopg.rows import dict_row

from schemasync.diff import analyse
from schemasync.diff import changes as c
from schemasync.diff.changes import change_to_dict
from schemasync.diff.grants import default_text
from schemasync.diff.scope import CompareOptions, managed_schemas
from schemasync.diff.summary import grant_text, options_text
from schemasync.errors import ConfigError
from schemasync.history import snapshots, versions
from schemasync.schema.model import Column, Index, Reported, Schema

if TYPE_CHECKING:
    import psycopg

    from schemasync.config import Settings
    from schemasync.diff import Diff

SideKind = Literal["live", "models", "version", "snapshot", "file"]
LIVE, MODELS, LATEST = "live", "models", "latest"


@dataclass(frozen=True, slots=True)
class Side:
    ref: str
    kind: SideKind
    title: str  # for people: "version 1.4.0 (row 12, 2026-11-26 15:00)"
    schema: Schema
    taken_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "kind": self.kind,
            "title": self.title,
            "taken_at": self.taken_at.isoformat() if self.taken_at else None,
        }


# -- naming a side --------------------------------------------------------------------------------

_PREFIXED = re.compile(r"^(version|id|snapshot|label):(.+)$")


def looks_like_path(ref: str) -> bool:
    return "/" in ref or "\\" in ref or ref.endswith((".json", ".gz")) or Path(ref).is_file()


def resolve(
    ref: str,
    *,
    conn: psycopg.Connection | None,
    live: Callable[[], Schema],
    models: Callable[[], tuple[Schema, str]],
    display: str = "the database",
) -> Side:
    """The side `ref` names. `live` and `models` are called only when asked for (they cost a round trip)."""
    text = ref.strip()
    if text == LIVE:
        return Side(ref, "live", f"the live database ({display})", live())
    if text == MODELS:
        schema, spec = models()
        return Side(ref, "models", f"the models ({spec})", schema)
    if looks_like_path(text):
        path = Path(text).expanduser()
        return Side(ref, "file", f"the snapshot file {path}", snapshots.read_file(path))
    if conn is None:  # pragma: no cover - the CLI connects whenever a side is not a file
        raise ConfigError(f"{ref!r} needs the database.", "Give a database URL.")
    return _recorded(conn, text, ref)


def _recorded(conn: psycopg.Connection, text: str, ref: str) -> Side:
    have_table = snapshots.table_columns(conn) is not None
    if text == LATEST:
        found = snapshots.listing(conn, limit=1)
        if not found:
            raise _nothing_recorded()
        return _side(conn, found[0], ref)
    match = _PREFIXED.match(text)
    kind, value = (match.group(1), match.group(2).strip()) if match else (None, text)
    candidates: dict[str, snapshots.SnapshotInfo | None] = {}
    if kind in (None, "label") and have_table:
        rows = snapshots.find(conn, sql.SQL("label = %s"), (value,))
        if rows:
            candidates[f"label:{value}"] = rows[0]
    if kind == "snapshot" and value.isdigit() and have_table:
        rows = snapshots.find(conn, sql.SQL("id = %s"), (int(value),))
        if rows:
            candidates[f"snapshot:{value}"] = rows[0]
    if kind in (None, "id") and value.isdigit():
        row = _version_row(conn, "id = %s", int(value))
        if row is not None:
            candidates[f"id:{value}"] = _snapshot_of(conn, row)
    if kind in (None, "version"):
        row = _version_by_string(conn, value)
        if row is not None:
            candidates[f"version:{row.schema_version}"] = _snapshot_of(conn, row)
    if len({name if info is None else info.id for name, info in candidates.items()}) > 1:
        names = " or ".join(sorted(candidates))
        raise ConfigError(
            f"{ref!r} names more than one thing: {names}.",
            f"Say which, for example schemasync compare {names.split()[0]}.",
        )
    if not candidates:
        what = {"label": "snapshot labelled", "snapshot": "snapshot", "id": "schema_versions row", "version": "version"}
        said = f"{what[kind]} {value!r}" if kind else f"version, row id or snapshot label {value!r}"
        known = [r.schema_version for r in versions.history(conn, 5) if r.schema_version]
        labels = [s.label for s in snapshots.listing(conn, 20) if s.label][:5]
        listed = "; ".join(
            part
            for part in (
                f"recent versions: {', '.join(dict.fromkeys(known))}" if known else "",
                f"labels: {', '.join(labels)}" if labels else "",
            )
            if part
        )
        raise ConfigError(
            f"There is no {said} in this database{' (' + listed + ')' if listed else ''}.",
            "Run schemasync history or schemasync snapshots to see what is recorded; use live, models, latest "
            "or a snapshot file path for the other sides.",
        )
    name, info = next(iter(candidates.items()))
    if info is None:
        raise ConfigError(
            f"{name} was recorded before schemasync kept schema snapshots, so its schema is not known.",
            "Compare a later version, or take one now with schemasync snapshot --label NAME.",
        )
    return _side(conn, info, ref)


def _nothing_recorded() -> ConfigError:
    return ConfigError(
        "No schema snapshot is recorded in this database yet, so there is nothing to compare with.",
        "Snapshots are taken with every recorded version (setup, sync, production) and by schemasync snapshot "
        "--label NAME; or name both sides, for example schemasync compare models live.",
    )


def _version_row(conn: psycopg.Connection, where: str, value: object) -> Any:
    if versions.table_columns(conn) is None:
        return None
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            versions._SELECT + sql.SQL("WHERE " + where + " ORDER BY applied_at DESC NULLS LAST, id DESC LIMIT 1"),
            (value,),
        ).fetchone()
    return versions.VersionRow(**row) if row else None


def _version_by_string(conn: psycopg.Connection, value: str) -> Any:
    """The newest row recording `value`, written exactly or as an equal PEP 440 version (1.0 == 1.0.0)."""
    exact = _version_row(conn, "schema_version = %s", value)
    if exact is not None:
        return exact
    try:
        wanted = Version(value)
    except InvalidVersion:
        return None
    for row in versions.history(conn):
        try:
            if row.schema_version and Version(row.schema_version) == wanted:
                return row
        except InvalidVersion:
            continue
    return None


def _snapshot_of(conn: psycopg.Connection, row: Any) -> snapshots.SnapshotInfo | None:
    found = snapshots.find(conn, sql.SQL("version_id = %s"), (row.id,))
    return found[0] if found else None


def _side(conn: psycopg.Connection, info: snapshots.SnapshotInfo, ref: str) -> Side:
    when = f"{info.taken_at:%Y-%m-%d %H:%M:%S}" if info.taken_at else "?"
    if info.version_id is not None:
        title = f"version {info.schema_version} (row {info.version_id}, {when})"
        kind: SideKind = "version"
    else:
        title = f"snapshot {info.label or info.id!s} (at version {info.schema_version or 'none'}, {when})"
        kind = "snapshot"
    return Side(ref, kind, title, snapshots.load(conn, info.id), info.taken_at)


# -- comparing -------------------------------------------------------------------------------------

# (singular, plural) for counts and summaries, in the order they are listed.
KINDS: dict[str, tuple[str, str]] = {
    "schema+": ("schema added", "schemas added"),
    "table+": ("table added", "tables added"),
    "table~": ("table renamed", "tables renamed"),
    "table-": ("table dropped", "tables dropped"),
    "column+": ("column added", "columns added"),
    "column~": ("column renamed", "columns renamed"),
    "column*": ("column changed", "columns changed"),
    "column-": ("column dropped", "columns dropped"),
    "key+": ("constraint added", "constraints added"),
    "key~": ("constraint renamed", "constraints renamed"),
    "key-": ("constraint dropped", "constraints dropped"),
    "index+": ("index added", "indexes added"),
    "index~": ("index renamed", "indexes renamed"),
    "index-": ("index dropped", "indexes dropped"),
    "enum+": ("enum type added", "enum types added"),
    "enum*": ("enum type changed", "enum types changed"),
    "enum-": ("enum type dropped", "enum types dropped"),
    "sequence+": ("sequence added", "sequences added"),
    "sequence*": ("sequence changed", "sequences changed"),
    "sequence-": ("sequence dropped", "sequences dropped"),
    "comment": ("comment changed", "comments changed"),
    "domain+": ("domain added", "domains added"),
    "domain*": ("domain changed", "domains changed"),
    "domain-": ("domain dropped", "domains dropped"),
    "composite+": ("composite type added", "composite types added"),
    "composite*": ("composite type changed", "composite types changed"),
    "composite-": ("composite type dropped", "composite types dropped"),
    "extension+": ("extension added", "extensions added"),
    "extension*": ("extension updated", "extensions updated"),
    "extension-": ("extension dropped", "extensions dropped"),
    "table*": ("table property changed", "table properties changed"),
    "index*": ("index property changed", "index properties changed"),
    "partition+": ("partition added", "partitions added"),
    "partition-": ("partition removed", "partitions removed"),
    "routine+": ("function or procedure added", "functions and procedures added"),
    "routine*": ("function or procedure changed", "functions and procedures changed"),
    "routine-": ("function or procedure dropped", "functions and procedures dropped"),
    "trigger+": ("trigger added", "triggers added"),
    "trigger*": ("trigger changed", "triggers changed"),
    "trigger-": ("trigger dropped", "triggers dropped"),
    "policy+": ("policy added", "policies added"),
    "policy*": ("policy changed", "policies changed"),
    "policy-": ("policy dropped", "policies dropped"),
    "security*": ("row-level security setting changed", "row-level security settings changed"),
    "grant+": ("privilege granted", "privileges granted"),
    "grant-": ("privilege revoked", "privileges revoked"),
    "range+": ("range type added", "range types added"),
    "range*": ("range type changed", "range types changed"),
    "range-": ("range type dropped", "range types dropped"),
    "default+": ("default privilege granted", "default privileges granted"),
    "default-": ("default privilege revoked", "default privileges revoked"),
    "other+": ("other object added", "other objects added"),
    "other*": ("other object changed", "other objects changed"),
    "other-": ("other object dropped", "other objects dropped"),
}


@dataclass(frozen=True, slots=True)
class Item:
    kind: str  # a key of KINDS
    text: str  # "+ column email character varying(320) NOT NULL"
    change: dict[str, Any] | None = None  # the typed change as JSON (None for reported objects)
    counted: bool = True  # False for a new table's own foreign keys and indexes


@dataclass(frozen=True, slots=True)
class TableDifferences:
    """The differences of one table (or, with `table` None, of the types, sequences and other objects)."""

    schema: str | None
    table: str | None
    status: Literal["added", "dropped", "renamed", "changed", "other"]
    items: tuple[Item, ...]

    @property
    def title(self) -> str:
        return f"{self.schema}.{self.table}" if self.table else "Types, sequences and other objects"


@dataclass(frozen=True, slots=True)
class Comparison:
    older: Side
    newer: Side
    groups: tuple[TableDifferences, ...]
    renames: tuple[str, ...] = ()  # likely renames (the diff cannot know): "users.fullname -> display_name"
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def identical(self) -> bool:
        return not self.groups

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        if self.identical:
            return "No differences: both sides have the same schema."
        parts = [f"{n} {KINDS[k][0] if n == 1 else KINDS[k][1]}" for k, n in self.counts.items()]
        return f"{self.total} difference{'s' if self.total != 1 else ''}: {', '.join(parts)}."


def compare(older: Side, newer: Side, settings: Settings | None = None) -> Comparison:
    """What changed from `older` to `newer`, grouped by table."""
    models = next((s.schema for s in (older, newer) if s.kind == "models"), None)
    base = CompareOptions(
        include_schemas=tuple(settings.include_schemas) if settings else (),
        include_tables=tuple(settings.include_tables) if settings else (),
        exclude_tables=tuple(settings.exclude_tables) if settings else (),
    )
    if models is not None:
        schemas = managed_schemas(models, base)
    elif base.include_schemas:
        schemas = frozenset(base.include_schemas)
    else:
        schemas = frozenset(
            {t.schema for s in (older, newer) for t in s.schema.tables}
            | {e.schema for s in (older, newer) for e in s.schema.enums}
            | {q.schema for s in (older, newer) for q in s.schema.sequences}
            | {d.schema for s in (older, newer) for d in s.schema.domains}
            | {t.schema for s in (older, newer) for t in s.schema.composites}
            | {r.schema for s in (older, newer) for r in s.schema.routines}
            | {n for s in (older, newer) for n in s.schema.schemas}
        )
    options = CompareOptions(
        prune=True,
        include_schemas=tuple(sorted(schemas)) or ("public",),
        include_tables=base.include_tables,
        exclude_tables=base.exclude_tables,
    )
    diff = analyse(older.schema, newer.schema, options)
    reported = _reported(older.schema, newer.schema, schemas, hashes=models is None)
    return group(older, newer, diff, reported)


def _reported(older: Schema, newer: Schema, schemas: frozenset[str], *, hashes: bool) -> list[Item]:
    """Aggregates and window functions: listed, never managed, but a comparison should say they moved."""

    def key(r: Reported) -> tuple[str, str, str, str]:
        return (r.kind, r.schema, r.table or "", r.name)

    def name(r: Reported) -> str:
        where = f"{r.schema}.{r.table}." if r.table else f"{r.schema}."
        return f"{r.kind} {where}{r.name}"

    before = {key(r): r for r in older.reported if r.schema in schemas}
    after = {key(r): r for r in newer.reported if r.schema in schemas}
    items = [Item("other+", f"+ {name(r)}") for k, r in sorted(after.items()) if k not in before]
    items += [Item("other-", f"- {name(r)}") for k, r in sorted(before.items()) if k not in after]
    if hashes:  # the models' objects are hashed over scratch names, so their bodies never match
        items += [
            Item("other*", f"~ {name(r)} (definition changed)")
            for k, r in sorted(after.items())
            if k in before and before[k].definition_hash != r.definition_hash
        ]
    return items


def group(older: Side, newer: Side, diff: Diff, reported: list[Item] | None = None) -> Comparison:
    created = {x.table.key for x in diff.changes if isinstance(x, c.CreateTable)}
    by_table: dict[tuple[str, str], list[Item]] = {}
    status: dict[tuple[str, str], str] = {}
    other: list[Item] = []
    for change in diff.changes:
        kind, text = detail(change)
        where = c.table_of(change)
        counted = not (isinstance(change, c.AddForeignKey | c.CreateIndex) and where in created)
        item = Item(kind, text, change_to_dict(change), counted)
        if where is None:
            other.append(item)
            continue
        by_table.setdefault(where, []).append(item)
        if isinstance(change, c.CreateTable):
            status[where] = "added"
        elif isinstance(change, c.DropTable):
            status[where] = "dropped"
        elif isinstance(change, c.RenameTable):
            status.setdefault(where, "renamed")
    other += reported or []
    groups = [
        TableDifferences(s, t, status.get((s, t), "changed"), tuple(items))  # type: ignore[arg-type]
        for (s, t), items in sorted(by_table.items())
    ]
    if other:
        groups.append(TableDifferences(None, None, "other", tuple(other)))
    counts: dict[str, int] = {}
    for g in groups:
        for item in g.items:
            if item.counted:
                counts[item.kind] = counts.get(item.kind, 0) + 1
    ordered = {k: counts[k] for k in KINDS if k in counts}
    renames = tuple(s.describe() for s in diff.suggestions)
    return Comparison(older, newer, tuple(groups), renames, ordered)


# -- describing one change --------------------------------------------------------------------------


def column_text(col: Column) -> str:
    parts = [col.name, col.type]
    if col.collation:
        parts.append(f"COLLATE {col.collation}")
    if not col.nullable:
        parts.append("NOT NULL")
    if col.identity:
        parts.append(f"GENERATED {col.identity.upper()} AS IDENTITY")
    if col.generated:
        parts.append(f"GENERATED ALWAYS AS ({col.generated}) STORED")
    if col.default is not None:
        parts.append(f"DEFAULT {col.default}")
    return " ".join(parts)


def index_text(i: Index) -> str:
    text = f"{i.name} ({', '.join(i.keys)})"
    if i.method != "btree":
        text += f" using {i.method}"
    if i.include:
        text += f" include ({', '.join(i.include)})"
    if i.where:
        text += f" where {i.where}"
    return text


def detail(change: c.Change) -> tuple[str, str]:
    """(kind, one line) for a change, seen as "what is different" rather than "what to run"."""
    match change:
        case c.CreateSchema(name=n):
            return "schema+", f"+ schema {n}"
        case c.CreateTable(table=t):
            cols = ", ".join(column_text(col) for col in t.columns)
            pk = f"; primary key ({', '.join(t.primary_key.columns)})" if t.primary_key else ""
            return "table+", f"+ table with {len(t.columns)} column{'s' if len(t.columns) != 1 else ''}: {cols}{pk}"
        case c.DropTable():
            return "table-", "- table (and its rows)"
        case c.RenameTable(old=o, new=n):
            return "table~", f"~ table renamed {o} -> {n}"
        case c.AlterTableComment(comment=text):
            return "comment", f"~ table comment: {text!r}" if text is not None else "~ table comment removed"
        case c.AddColumn(column=col):
            return "column+", f"+ column {column_text(col)}"
        case c.DropColumn(name=n):
            return "column-", f"- column {n}"
        case c.RenameColumn(old=o, new=n):
            return "column~", f"~ column renamed {o} -> {n}"
        case c.AlterColumnType(column=col, old_type=a, new_type=b, collation=co, old_collation=oc):
            if a != b:
                return "column*", f"~ column {col}: type {a} -> {b}"
            return "column*", f"~ column {col}: collation {oc or 'default'} -> {co or 'default'}"
        case c.AlterColumnNullability(column=col, nullable=nullable):
            return "column*", f"~ column {col}: {'NULL allowed' if nullable else 'NOT NULL'}"
        case c.AlterColumnDefault(column=col, default=d, old_default=od):
            return (
                "column*",
                f"~ column {col}: default {od if od is not None else 'none'} -> {d if d is not None else 'none'}",
            )
        case c.AlterColumnIdentity(column=col, identity=i, old_identity=oi):
            return "column*", f"~ column {col}: identity {oi or 'none'} -> {i or 'none'}"
        case c.AlterColumnGenerated(column=col, old_generated=og):
            new = f"({col.generated})" if col.generated else "none"
            return "column*", f"~ column {col.name}: generated {f'({og})' if og else 'none'} -> {new}"
        case c.AlterColumnComment(column=col, comment=text):
            return (
                "comment",
                f"~ comment on column {col}: {text!r}" if text is not None else f"~ comment on column {col} removed",
            )
        case c.AddPrimaryKey(key=k):
            return "key+", f"+ primary key {k.name} ({', '.join(k.columns)})"
        case c.AddUnique(constraint=u):
            return "key+", f"+ unique {u.name} ({', '.join(u.columns)})"
        case c.AddForeignKey(constraint=f):
            target = f"{f.ref_schema}.{f.ref_table}"
            actions = "".join(
                f" ON {what} {action}"
                for what, action in (("DELETE", f.on_delete), ("UPDATE", f.on_update))
                if action != "NO ACTION"
            )
            return (
                "key+",
                f"+ foreign key {f.name} ({', '.join(f.columns)}) -> {target} ({', '.join(f.ref_columns)}){actions}",
            )
        case c.AddCheck(constraint=k):
            return "key+", f"+ check {k.name} {k.expression}"
        case c.DropPrimaryKey(name=n):
            return "key-", f"- primary key {n}"
        case c.DropUnique(name=n):
            return "key-", f"- unique {n}"
        case c.DropForeignKey(name=n):
            return "key-", f"- foreign key {n}"
        case c.DropCheck(name=n):
            return "key-", f"- check {n}"
        case c.ValidateConstraint(name=n):
            return "key+", f"~ constraint {n}: validated"
        case c.RenameConstraint(old=o, new=n):
            return "key~", f"~ constraint renamed {o} -> {n}"
        case c.CreateIndex(index=i):
            return "index+", f"+ {'unique ' if i.unique else ''}index {index_text(i)}"
        case c.DropIndex(name=n):
            return "index-", f"- index {n}"
        case c.RenameIndex(old=o, new=n):
            return "index~", f"~ index renamed {o} -> {n}"
        case c.CreateEnum(enum=e):
            return "enum+", f"+ enum {e.schema}.{e.name} ({', '.join(map(repr, e.labels))})"
        case c.AddEnumValue(schema=s, name=n, label=label):
            return "enum*", f"~ enum {s}.{n}: + {label!r}"
        case c.RecreateEnum(enum=e, old_labels=old):
            return (
                "enum*",
                f"~ enum {e.schema}.{e.name}: ({', '.join(map(repr, old))}) -> ({', '.join(map(repr, e.labels))})",
            )
        case c.AlterEnumComment(schema=s, name=n, comment=text):
            return (
                "comment",
                f"~ comment on type {s}.{n}: {text!r}" if text is not None else f"~ comment on type {s}.{n} removed",
            )
        case c.DropEnum(schema=s, name=n):
            return "enum-", f"- enum {s}.{n}"
        case c.CreateSequence(sequence=q):
            return (
                "sequence+",
                f"+ sequence {q.schema}.{q.name} ({q.data_type}, start {q.start}, increment {q.increment})",
            )
        case c.AlterSequence(old=o, new=q):
            fields = ("data_type", "start", "increment", "min_value", "max_value", "cycle", "cache", "owned_by")
            moved = [f"{f} {getattr(o, f)} -> {getattr(q, f)}" for f in fields if getattr(o, f) != getattr(q, f)]
            return "sequence*", f"~ sequence {q.schema}.{q.name}: {', '.join(moved)}"
        case c.RenameSequence(schema=s, old=o, new=n):
            return "sequence*", f"~ sequence renamed {s}.{o} -> {n}"
        case c.DropSequence(schema=s, name=n):
            return "sequence-", f"- sequence {s}.{n}"
        case c.CreateDomain(domain=d):
            return "domain+", f"+ domain {d.schema}.{d.name} ({d.type})"
        case c.RecreateDomain(domain=d, old_type=o):
            return "domain*", f"~ domain {d.schema}.{d.name}: {o} -> {d.type}"
        case c.AlterDomainDefault(schema=s, name=n, default=v):
            return "domain*", f"~ domain {s}.{n}: default {v if v is not None else 'removed'}"
        case c.AlterDomainNullability(schema=s, name=n, nullable=v):
            return "domain*", f"~ domain {s}.{n}: {'NULL allowed' if v else 'NOT NULL'}"
        case c.AddDomainCheck(schema=s, name=n, check=k):
            return "domain*", f"~ domain {s}.{n}: + check {k.name}"
        case c.DropDomainCheck(schema=s, name=n, check=k):
            return "domain*", f"~ domain {s}.{n}: - check {k}"
        case c.DropDomain(schema=s, name=n):
            return "domain-", f"- domain {s}.{n}"
        case c.CreateComposite(type=t):
            return "composite+", f"+ composite type {t.schema}.{t.name}"
        case c.AlterComposite(schema=s, name=n, add=add, drop=drop, retype=retype):
            parts = [f"+ {a.name}" for a in add] + [f"- {d}" for d in drop] + [f"~ {a.name} {a.type}" for a in retype]
            return "composite*", f"~ composite type {s}.{n}: {', '.join(parts)}"
        case c.RecreateComposite(type=t):
            return "composite*", f"~ composite type {t.schema}.{t.name}: recreated"
        case c.DropComposite(schema=s, name=n):
            return "composite-", f"- composite type {s}.{n}"
        case c.CreateExtension(extension=x):
            return "extension+", f"+ extension {x.name}" + (f" {x.version}" if x.version else "")
        case c.UpdateExtension(name=n, old_version=o, version=v):
            return "extension*", f"~ extension {n}: {o} -> {v}"
        case c.DropExtension(name=n):
            return "extension-", f"- extension {n}"
        case c.AddExclusion(constraint=x):
            return "key+", f"+ exclusion {x.name} {x.definition}"
        case c.DropExclusion(name=n):
            return "key-", f"- exclusion {n}"
        case c.AlterTablePersistence(unlogged=unlogged):
            return "table*", f"~ table {'UNLOGGED' if unlogged else 'LOGGED'}"
        case c.AlterTableOptions(set=to_set, reset=to_reset):
            return "table*", f"~ storage parameters: {options_text(to_set, to_reset)}"
        case c.AlterIndexOptions(index=i, set=to_set, reset=to_reset):
            return "index*", f"~ index {i} storage parameters: {options_text(to_set, to_reset)}"
        case c.CreatePartition(partition=p) | c.AttachPartition(partition=p):
            return "partition+", f"+ partition {p.schema}.{p.name} {p.bound}"
        case c.DetachPartition(partition_schema=ps, name=n):
            return "partition-", f"- partition {ps}.{n} (detached)"
        case c.DropPartition(partition_schema=ps, name=n):
            return "partition-", f"- partition {ps}.{n} (and its rows)"
        case c.Repartition(old=old, new=new):
            return "table*", f"~ partitioned by {old or 'nothing'} -> {new}"
        case c.CreateRoutine(routine=r):
            return "routine+", f"+ {r.kind} {r.schema}.{r.name}({r.arguments})"
        case c.ReplaceRoutine(routine=r) | c.RecreateRoutine(routine=r):
            return "routine*", f"~ {r.kind} {r.schema}.{r.name}({r.arguments}): definition changed"
        case c.DropRoutine(routine=r):
            return "routine-", f"- {r.kind} {r.schema}.{r.name}({r.arguments})"
        case c.CreateTrigger(trigger=t):
            return "trigger+", f"+ trigger {t.name}"
        case c.RecreateTrigger(trigger=t):
            return "trigger*", f"~ trigger {t.name}: definition changed"
        case c.AlterTriggerEnabled(trigger=t, old_enabled=was):
            return "trigger*", f"~ trigger {t.name}: enabled {was} -> {t.enabled}"
        case c.DropTrigger(name=n):
            return "trigger-", f"- trigger {n}"
        case c.CreatePolicy(policy=p):
            return "policy+", f"+ policy {p.name} for {p.command} to {', '.join(p.roles)}"
        case c.AlterPolicy(policy=p) | c.RecreatePolicy(policy=p):
            return "policy*", f"~ policy {p.name}: definition changed"
        case c.DropPolicy(name=n):
            return "policy-", f"- policy {n}"
        case c.AlterRowSecurity(enabled=e, forced=f, old_enabled=oe, old_forced=of):
            before, after = (
                ("on" if oe else "off") + (" forced" if of else ""),
                ("on" if e else "off") + (" forced" if f else ""),
            )
            return "security*", f"~ row-level security: {before} -> {after}"
        case c.GrantPrivilege(grant=g):
            return "grant+", f"+ {grant_text(g)}"
        case c.RevokePrivilege(grant=g, grant_option_only=only):
            return "grant-", f"- {'grant option for ' if only else ''}{grant_text(g)}"
        case c.AlterComment(kind=k, schema=s, name=n, comment=text):
            return (
                "comment",
                f"~ comment on {k} {s}.{n}: {text!r}" if text is not None else f"~ comment on {k} {s}.{n} removed",
            )
        case c.AlterOwner(kind=k, schema=s, name=n, owner=o):
            return "other*", f"~ owner of {k} {s if k == 'schema' else f'{s}.{n}'}: {o}"
        case c.CreateRange(range=r):
            return "range+", f"+ range type {r.schema}.{r.name} of {r.subtype}"
        case c.RecreateRange(range=r):
            return "range*", f"~ range type {r.schema}.{r.name}: definition changed"
        case c.DropRange(schema=s, name=n):
            return "range-", f"- range type {s}.{n}"
        case c.GrantDefaultPrivilege(default=d):
            return "default+", f"+ default {default_text(d)}"
        case c.RevokeDefaultPrivilege(default=d, grant_option_only=only):
            return "default-", f"- default {'grant option for ' if only else ''}{default_text(d)}"
        case _:
            assert_never(change)
