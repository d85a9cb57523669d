"""The human summary of a diff, in the guide's style: "Found 2 new tables: user_sessions, audit_logs".

One line per kind of change, items in plan order. Names are schema-qualified only outside `public`.
"""

from __future__ import annotations

from typing import assert_never

from schemasync.diff import changes as c
from schemasync.diff.compare import Diff
from schemasync.diff.grants import default_text
from schemasync.schema.model import Grant, Routine

# (singular noun phrase, plural noun phrase), in the order lines are printed.
GROUPS: dict[str, tuple[str, str]] = {
    "schema+": ("new schema", "new schemas"),
    "table+": ("new table", "new tables"),
    "table~": ("renamed table", "renamed tables"),
    "table-": ("table to drop (deletes its rows)", "tables to drop (deletes their rows)"),
    "column+": ("new column", "new columns"),
    "column~": ("renamed column", "renamed columns"),
    "column-": ("column to drop (deletes its values)", "columns to drop (deletes their values)"),
    "column*": ("changed column", "changed columns"),
    "key+": ("new key or constraint", "new keys and constraints"),
    "key-": ("key or constraint to drop", "keys and constraints to drop"),
    "key~": ("renamed key or constraint", "renamed keys and constraints"),
    "index+": ("new index", "new indexes"),
    "index-": ("index to drop", "indexes to drop"),
    "index~": ("renamed index", "renamed indexes"),
    "enum+": ("new enum type", "new enum types"),
    "enum*": ("changed enum type", "changed enum types"),
    "enum-": ("enum type to drop", "enum types to drop"),
    "sequence+": ("new sequence", "new sequences"),
    "sequence*": ("changed sequence", "changed sequences"),
    "sequence-": ("sequence to drop", "sequences to drop"),
    "comment": ("changed comment", "changed comments"),
    "view+": ("new view", "new views"),
    "view*": ("changed view", "changed views"),
    "view~": ("view re-created around a change", "views re-created around a change"),
    "view-": ("view to drop", "views to drop"),
    "domain+": ("new domain", "new domains"),
    "domain*": ("changed domain", "changed domains"),
    "domain-": ("domain to drop", "domains to drop"),
    "composite+": ("new composite type", "new composite types"),
    "composite*": ("changed composite type", "changed composite types"),
    "composite-": ("composite type to drop", "composite types to drop"),
    "extension+": ("new extension", "new extensions"),
    "extension*": ("extension to update", "extensions to update"),
    "extension-": ("extension to drop", "extensions to drop"),
    "table*": ("changed table property", "changed table properties"),
    "partition+": ("new or attached partition", "new or attached partitions"),
    "partition-": ("partition detached or dropped", "partitions detached or dropped"),
    "routine+": ("new function or procedure", "new functions and procedures"),
    "routine*": ("changed function or procedure", "changed functions and procedures"),
    "routine-": ("function or procedure to drop", "functions and procedures to drop"),
    "trigger+": ("new trigger", "new triggers"),
    "trigger*": ("changed trigger", "changed triggers"),
    "trigger-": ("trigger to drop", "triggers to drop"),
    "policy+": ("new row-level security policy", "new row-level security policies"),
    "policy*": ("changed row-level security policy", "changed row-level security policies"),
    "policy-": ("row-level security policy to drop", "row-level security policies to drop"),
    "security*": ("changed row-level security setting", "changed row-level security settings"),
    "grant+": ("privilege to grant", "privileges to grant"),
    "grant-": ("privilege to revoke", "privileges to revoke"),
    "owner": ("object to give to its owner", "objects to give to their owner"),
    "range+": ("new range type", "new range types"),
    "range*": ("changed range type", "changed range types"),
    "range-": ("range type to drop", "range types to drop"),
    "default+": ("default privilege to grant", "default privileges to grant"),
    "default-": ("default privilege to revoke", "default privileges to revoke"),
}


def name(schema: str, *parts: str) -> str:
    return ".".join(parts) if schema == "public" else ".".join((schema, *parts))


def options_text(to_set: tuple[str, ...], to_reset: tuple[str, ...]) -> str:
    """Storage parameters set and reset, as a reader wants them: "fillfactor=70, reset autovacuum_enabled"."""
    return ", ".join([*to_set, *(f"reset {k}" for k in to_reset)])


def describe(change: c.Change) -> tuple[str, str]:
    """(group, item) for one change."""
    match change:
        case c.CreateSchema(name=n):
            return "schema+", n
        case c.CreateTable(table=t):
            return "table+", name(t.schema, t.name)
        case c.DropTable(schema=s, name=n):
            return "table-", name(s, n)
        case c.RenameTable(schema=s, old=o, new=n):
            return "table~", f"{name(s, o)} -> {n}"
        case c.AlterTableComment(schema=s, table=t):
            return "comment", f"table {name(s, t)}"
        case c.AddColumn(schema=s, table=t, column=col):
            return "column+", name(s, t, col.name)
        case c.DropColumn(schema=s, table=t, name=n):
            return "column-", name(s, t, n)
        case c.RenameColumn(schema=s, table=t, old=o, new=n):
            return "column~", f"{name(s, t, o)} -> {n}"
        case c.AlterColumnType(schema=s, table=t, column=col, old_type=a, new_type=b):
            return "column*", f"{name(s, t, col)} (type {a} -> {b})" if a != b else f"{name(s, t, col)} (collation)"
        case c.AlterColumnNullability(schema=s, table=t, column=col, nullable=nullable):
            return "column*", f"{name(s, t, col)} ({'NULL allowed' if nullable else 'NOT NULL'})"
        case c.AlterColumnDefault(schema=s, table=t, column=col, default=d):
            return "column*", f"{name(s, t, col)} ({'default ' + d if d is not None else 'no default'})"
        case c.AlterColumnIdentity(schema=s, table=t, column=col, identity=i):
            return "column*", f"{name(s, t, col)} ({'identity ' + i if i else 'no identity'})"
        case c.AlterColumnGenerated(schema=s, table=t, column=col):
            return "column*", f"{name(s, t, col.name)} ({'generated' if col.generated else 'no longer generated'})"
        case c.AlterColumnComment(schema=s, table=t, column=col):
            return "comment", f"column {name(s, t, col)}"
        case c.AddPrimaryKey(schema=s, table=t, key=k):
            return "key+", f"primary key {name(s, t)} ({', '.join(k.columns)})"
        case c.AddUnique(schema=s, table=t, constraint=u):
            return "key+", f"unique {name(s, t)} ({', '.join(u.columns)})"
        case c.AddForeignKey(schema=s, table=t, constraint=f):
            return "key+", f"foreign key {name(s, t)} ({', '.join(f.columns)}) -> {name(f.ref_schema, f.ref_table)}"
        case c.AddCheck(schema=s, table=t, constraint=k):
            return "key+", f"check {k.name} on {name(s, t)}"
        case (
            c.DropPrimaryKey(schema=s, table=t, name=n)
            | c.DropUnique(schema=s, table=t, name=n)
            | c.DropForeignKey(schema=s, table=t, name=n)
            | c.DropCheck(schema=s, table=t, name=n)
        ):
            return "key-", f"{n} on {name(s, t)}"
        case c.ValidateConstraint(schema=s, table=t, name=n):
            return "key+", f"validate {n} on {name(s, t)}"
        case c.RenameConstraint(schema=s, table=t, old=o, new=n):
            return "key~", f"{o} -> {n} on {name(s, t)}"
        case c.CreateIndex(schema=s, table=t, index=i):
            return "index+", f"{i.name} on {name(s, t)}"
        case c.DropIndex(schema=s, table=t, name=n):
            return "index-", f"{n} on {name(s, t)}"
        case c.RenameIndex(schema=s, old=o, new=n):
            return "index~", f"{o} -> {n}"
        case c.CreateEnum(enum=e):
            return "enum+", name(e.schema, e.name)
        case c.AddEnumValue(schema=s, name=n, label=label):
            return "enum*", f"{name(s, n)} (+ {label!r})"
        case c.RecreateEnum(enum=e, old_labels=old):
            removed = [x for x in old if x not in e.labels]
            what = f"- {', '.join(map(repr, removed))}" if removed else "labels reordered"
            return "enum*", f"{name(e.schema, e.name)} ({what}; recreated)"
        case c.AlterEnumComment(schema=s, name=n):
            return "comment", f"type {name(s, n)}"
        case c.DropEnum(schema=s, name=n):
            return "enum-", name(s, n)
        case c.CreateSequence(sequence=q):
            return "sequence+", name(q.schema, q.name)
        case c.AlterSequence(new=q):
            return "sequence*", name(q.schema, q.name)
        case c.RenameSequence(schema=s, old=o, new=n):
            return "sequence*", f"{name(s, o)} -> {n}"
        case c.DropSequence(schema=s, name=n):
            return "sequence-", name(s, n)
        case c.CreateView(view=v, reason=reason):
            return ("view~" if reason else "view+"), f"{v.kind} {name(v.schema, v.name)}"
        case c.ReplaceView(view=v):
            return "view*", f"view {name(v.schema, v.name)}"
        case c.DropView(schema=s, name=n, materialized=m, reason=reason):
            kind = "materialized view" if m else "view"
            return ("view~" if reason else "view-"), f"{kind} {name(s, n)}"
        case c.CreateDomain(domain=d):
            return "domain+", name(d.schema, d.name)
        case c.RecreateDomain(domain=d, old_type=o):
            return "domain*", f"{name(d.schema, d.name)} ({o} -> {d.type}; recreated)"
        case (
            c.AlterDomainDefault(schema=s, name=n)
            | c.AlterDomainNullability(schema=s, name=n)
            | c.AddDomainCheck(schema=s, name=n)
            | c.DropDomainCheck(schema=s, name=n)
        ):
            return "domain*", name(s, n)
        case c.DropDomain(schema=s, name=n):
            return "domain-", name(s, n)
        case c.CreateComposite(type=t):
            return "composite+", name(t.schema, t.name)
        case c.AlterComposite(schema=s, name=n):
            return "composite*", name(s, n)
        case c.RecreateComposite(type=t):
            return "composite*", f"{name(t.schema, t.name)} (recreated)"
        case c.DropComposite(schema=s, name=n):
            return "composite-", name(s, n)
        case c.CreateExtension(extension=x):
            return "extension+", x.name + (f" {x.version}" if x.version else "")
        case c.UpdateExtension(name=n, old_version=o, version=v):
            return "extension*", f"{n} ({o} -> {v})"
        case c.DropExtension(name=n):
            return "extension-", n
        case c.AddExclusion(schema=s, table=t, constraint=x):
            return "key+", f"exclusion {x.name} on {name(s, t)}"
        case c.DropExclusion(schema=s, table=t, name=n):
            return "key-", f"{n} on {name(s, t)}"
        case c.AlterTablePersistence(schema=s, table=t, unlogged=unlogged):
            return "table*", f"{name(s, t)} ({'UNLOGGED' if unlogged else 'LOGGED'})"
        case c.AlterTableOptions(schema=s, table=t, set=to_set, reset=to_reset):
            return "table*", f"{name(s, t)} ({options_text(to_set, to_reset)})"
        case c.AlterIndexOptions(schema=s, index=i, set=to_set, reset=to_reset):
            return "table*", f"index {name(s, i)} ({options_text(to_set, to_reset)})"
        case c.CreatePartition(schema=s, table=t, partition=p) | c.AttachPartition(schema=s, table=t, partition=p):
            verb = "new" if isinstance(change, c.CreatePartition) else "attached"
            return "partition+", f"{name(p.schema, p.name)} of {name(s, t)} ({verb}, {p.bound})"
        case c.DetachPartition(schema=s, table=t, partition_schema=ps, name=n):
            return "partition-", f"{name(ps, n)} detached from {name(s, t)}"
        case c.DropPartition(schema=s, table=t, partition_schema=ps, name=n):
            return "partition-", f"{name(ps, n)} of {name(s, t)} (dropped with its rows)"
        case c.Repartition(schema=s, table=t, old=old, new=new):
            return "table*", f"{name(s, t)} (partitioned by {old or 'nothing'} -> {new}: refused)"
        case c.CreateRoutine(routine=r):
            return "routine+", routine_name(r)
        case c.ReplaceRoutine(routine=r):
            return "routine*", routine_name(r)
        case c.RecreateRoutine(routine=r):
            return "routine*", f"{routine_name(r)} (dropped and created)"
        case c.DropRoutine(routine=r, replaced=replaced):
            return "routine-", routine_name(r) + (" (replaced by another signature)" if replaced else "")
        case c.CreateTrigger(trigger=t):
            return "trigger+", f"{t.name} on {name(t.schema, t.table)}"
        case c.RecreateTrigger(trigger=t) | c.AlterTriggerEnabled(trigger=t):
            return "trigger*", f"{t.name} on {name(t.schema, t.table)}"
        case c.DropTrigger(schema=s, table=t, name=n):
            return "trigger-", f"{n} on {name(s, t)}"
        case c.CreatePolicy(policy=p):
            return "policy+", f"{p.name} on {name(p.schema, p.table)}"
        case c.AlterPolicy(policy=p) | c.RecreatePolicy(policy=p):
            return "policy*", f"{p.name} on {name(p.schema, p.table)}"
        case c.DropPolicy(schema=s, table=t, name=n):
            return "policy-", f"{n} on {name(s, t)}"
        case c.GrantPrivilege(grant=g):
            return "grant+", grant_text(g)
        case c.RevokePrivilege(grant=g, grant_option_only=only):
            return "grant-", ("grant option for " if only else "") + grant_text(g)
        case c.CreateRange(range=r):
            return "range+", name(r.schema, r.name)
        case c.RecreateRange(range=r):
            return "range*", name(r.schema, r.name)
        case c.DropRange(schema=s, name=n):
            return "range-", name(s, n)
        case c.GrantDefaultPrivilege(default=d):
            return "default+", default_text(d)
        case c.RevokeDefaultPrivilege(default=d, grant_option_only=only):
            return "default-", ("grant option for " if only else "") + default_text(d)
        case c.AlterRowSecurity(schema=s, table=t, enabled=e, forced=f):
            return "security*", f"{name(s, t)} ({row_security_state(e, f)})"
        case c.AlterComment(kind=k, schema=s, name=n, table=t, arguments=a):
            on = f" on {name(s, t)}" if t else ""
            return (
                "comment",
                f"{k} {name(s, n) if not t else n}{f'({a})' if k in ('function', 'procedure') else ''}{on}",
            )
        case c.AlterOwner(kind=k, schema=s, name=n, arguments=a, owner=o):
            target = s if k == "schema" else name(s, n) + (f"({a})" if k in ("function", "procedure") else "")
            return "owner", f"{k} {target} (to {o})"
        case _:
            assert_never(change)


def grant_text(g: Grant) -> str:
    """`SELECT on orders to reporting`, `USAGE on schema billing to PUBLIC`, `UPDATE (status) on orders to support`."""
    target = f"schema {g.schema}" if g.kind == "schema" else name(g.schema, g.name)
    privilege = f"{g.privilege} ({g.column})" if g.column else g.privilege
    if g.kind in ("function", "procedure"):
        target += f"({g.arguments})"
    return f"{privilege} on {target} to {'PUBLIC' if g.grantee == 'public' else g.grantee}"


def row_security_state(enabled: bool, forced: bool) -> str:
    return ("enabled" if enabled else "disabled") + (", forced" if forced else "")


def routine_name(r: Routine) -> str:
    """`public.touch()`, `billing.total(integer, text)`: a routine by its signature."""
    return f"{name(r.schema, r.name)}({r.arguments})"


def summary_lines(diff: Diff) -> list[str]:
    grouped: dict[str, list[str]] = {}
    created = {x.table.key for x in diff.changes if isinstance(x, c.CreateTable)}
    for change in diff.changes:
        if isinstance(change, c.AddForeignKey | c.CreateIndex) and c.table_of(change) in created:
            continue  # part of the new table, as far as a reader is concerned
        group, item = describe(change)
        if item not in grouped.setdefault(group, []):
            grouped[group].append(item)
    lines = []
    for group, (one, many) in GROUPS.items():
        items = grouped.get(group)
        if items:
            lines.append(f"Found {len(items)} {one if len(items) == 1 else many}: {', '.join(items)}")
    if diff.unmanaged:
        lines.append(
            "Left alone (in the database, not in the models; --prune drops them): "
            + ", ".join(u.describe() for u in diff.unmanaged)
        )
    return lines


def description(diff: Diff, limit: int = 500) -> str:
    """One paragraph for the schema_versions row."""
    text = "; ".join(line.removeprefix("Found ") for line in summary_lines(diff) if line.startswith("Found "))
    return text if len(text) <= limit else text[: limit - 3] + "..."
