"""Privileges on tables (and their columns), sequences, schemas and routines, for the roles the models name
and no others.

The models name a role by granting it something (`GRANT SELECT ON orders TO reporting`,
`GRANT UPDATE (status) ON orders TO support`). For those roles only, a declared privilege the database lacks
is granted, and on an object where the models grant a role something, the role's other privileges are revoked
(the models say what that role may do there; a table's column privileges are privileges on the table).
A named role's privileges on other objects, and every privilege of a role the models never mention,
are left alone unless prune (which revokes a named role's undeclared privileges on the models' objects;
never those of roles the models do not mention). Owners are not compared.

Column privileges are on columns the models declare only: one on a column they do not declare goes with that
column (dropped by prune, left alone without it, renamed along with it). PostgreSQL's REVOKE of a table-wide
privilege also takes the column privileges of the same name, so after one the declared column privileges are
granted again, after the revokes.

Default privileges (`ALTER DEFAULT PRIVILEGES ... IN SCHEMA`) follow the same rule for the grantees the models
name, a declaration being about one creator, schema, object kind and grantee.
"""

from __future__ import annotations

from schemasync.diff import changes as c
from schemasync.diff.scope import CompareOptions
from schemasync.schema.model import DefaultPrivilege, Grant, Schema


def _object(g: Grant) -> tuple[str, str, str, str]:
    return (g.kind, g.schema, g.name, g.arguments)


def _objects(schema: Schema) -> set[tuple[str, str, str, str]]:
    """The models' objects a grant can be on (a grant on anything else is not the models' business)."""
    out = {("table", t.schema, t.name, "") for t in schema.tables}
    out |= {("sequence", s.schema, s.name, "") for s in schema.sequences}
    out |= {(r.kind, r.schema, r.name, r.arguments) for r in schema.routines}
    out |= {("schema", s, "", "") for s in {t.schema for t in schema.tables} | set(schema.schemas)}
    return out


def _on_declared_column(desired: Schema) -> set[tuple[str, str, str]]:
    """(schema, table, column) of every column the models declare (column privileges are read on tables)."""
    return {(t.schema, t.name, col.name) for t in desired.tables for col in t.columns}


def _compared(grants: tuple[Grant, ...], desired: Schema) -> list[Grant]:
    """The live privileges the diff looks at: a column privilege only on a column the models declare."""
    columns = _on_declared_column(desired)
    return [g for g in grants if not g.column or (g.schema, g.name, g.column) in columns]


def compare_grants(current: Schema, desired: Schema, options: CompareOptions) -> list[c.Change]:
    revokes: list[c.Change] = []
    grants: list[c.Change] = []
    named = {g.grantee for g in desired.grants}
    have = {g.key: g for g in _compared(current.grants, desired) if g.grantee in named}
    want = {g.key: g for g in desired.grants}
    declared_pairs = {(_object(g), g.grantee) for g in desired.grants}
    objects = _objects(desired)
    taken: set[tuple[tuple[str, str, str, str], str, str]] = set()  # (object, grantee, privilege) revoked table-wide
    for key, grant in have.items():
        wanted = want.get(key)
        if wanted is not None:
            if grant.grantable and not wanted.grantable:
                revokes.append(c.RevokePrivilege(grant, grant_option_only=True))
            else:
                continue
        elif (_object(grant), grant.grantee) in declared_pairs or (options.prune and _object(grant) in objects):
            revokes.append(c.RevokePrivilege(grant))
        else:
            continue
        if not grant.column and grant.kind == "table":
            taken.add((_object(grant), grant.grantee, grant.privilege))
    regrants: list[c.Change] = []  # column privileges a table-wide revoke takes along: granted after it
    for key, grant in want.items():
        old = have.get(key)
        if grant.column and (_object(grant), grant.grantee, grant.privilege) in taken:
            regrants.append(c.GrantPrivilege(grant))
        elif old is None or (grant.grantable and not old.grantable):
            grants.append(c.GrantPrivilege(grant))
    return grants + revokes + regrants


def left_alone_grants(current: Schema, desired: Schema) -> list[Grant]:
    """Named roles' privileges on the models' objects that the models do not declare, kept without prune."""
    named = {g.grantee for g in desired.grants}
    want = {g.key for g in desired.grants}
    declared_pairs = {(_object(g), g.grantee) for g in desired.grants}
    objects = _objects(desired)
    return [
        g
        for g in _compared(current.grants, desired)
        if g.grantee in named
        and g.key not in want
        and (_object(g), g.grantee) not in declared_pairs
        and _object(g) in objects
    ]


def default_text(d: DefaultPrivilege) -> str:
    """`SELECT on new tables in app (created by reporting) for analyst`: a default privilege, on whose new objects
    of which kind, where."""
    creator = d.role or "the role schemasync runs as"
    grantee = "PUBLIC" if d.grantee == "public" else d.grantee
    return f"{d.privilege} on new {d.kind} in {d.schema} (created by {creator}) for {grantee}"


def _pair(d: DefaultPrivilege) -> tuple[str, str, str, str]:
    """Whose new objects of which kind in which schema, for which grantee: what one declaration is about."""
    return (d.role, d.schema, d.kind, d.grantee)


def compare_default_privileges(current: Schema, desired: Schema, options: CompareOptions) -> list[c.Change]:
    """Default privileges, by the grants' rule: for the grantees the models name, a declared one the database
    lacks is granted; where the models declare some for a (creator, schema, kind, grantee), that grantee's other
    ones there are revoked; the rest of a named grantee's in the models' schemas only with prune."""
    named = {d.grantee for d in desired.default_privileges}
    have = {d.key: d for d in current.default_privileges if d.grantee in named}
    want = {d.key: d for d in desired.default_privileges}
    declared = {_pair(d) for d in desired.default_privileges}
    grants: list[c.Change] = []
    revokes: list[c.Change] = []
    for key, default in want.items():
        old = have.get(key)
        if old is None or (default.grantable and not old.grantable):
            grants.append(c.GrantDefaultPrivilege(default))
        elif old.grantable and not default.grantable:
            revokes.append(c.RevokeDefaultPrivilege(old, grant_option_only=True))
    revokes += [
        c.RevokeDefaultPrivilege(d)
        for key, d in have.items()
        if key not in want and (_pair(d) in declared or options.prune)
    ]
    return grants + revokes


def left_alone_default_privileges(current: Schema, desired: Schema) -> list[DefaultPrivilege]:
    """Named grantees' default privileges in the models' schemas the models do not declare, kept without prune."""
    named = {d.grantee for d in desired.default_privileges}
    want = {d.key for d in desired.default_privileges}
    declared = {_pair(d) for d in desired.default_privileges}
    return [
        d for d in current.default_privileges if d.grantee in named and d.key not in want and _pair(d) not in declared
    ]
