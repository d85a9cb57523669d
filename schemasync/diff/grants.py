"""Privileges on tables, sequences, schemas and routines, for the roles the models name and no others.

The models name a role by granting it something (`GRANT SELECT ON orders TO reporting`). For those roles
only, a declared privilege the database lacks is granted, and on an object where the models grant a
role something, the role's other privileges are revoked (the models say what that role may do there).
A named role's privileges on other objects, and every privilege of a role the models never mention,
are left alone unless prune (which revokes a named role's undeclared privileges on the models' objects;
never those of roles the models do not mention). Owners are not compared.
"""

from __future__ import annotations

from schemasync.diff import changes as c
from schemasync.diff.scope import CompareOptions
from schemasync.schema.model import Grant, Schema


def _object(g: Grant) -> tuple[str, str, str, str]:
    return (g.kind, g.schema, g.name, g.arguments)


def _objects(schema: Schema) -> set[tuple[str, str, str, str]]:
    """The models' objects a grant can be on (a grant on anything else is not the models' business)."""
    out = {("table", t.schema, t.name, "") for t in schema.tables}
    out |= {("sequence", s.schema, s.name, "") for s in schema.sequences}
    out |= {(r.kind, r.schema, r.name, r.arguments) for r in schema.routines}
    out |= {("schema", s, "", "") for s in {t.schema for t in schema.tables} | set(schema.schemas)}
    return out


def compare_grants(current: Schema, desired: Schema, options: CompareOptions) -> list[c.Change]:
    out: list[c.Change] = []
    named = {g.grantee for g in desired.grants}
    have = {g.key: g for g in current.grants if g.grantee in named}
    want = {g.key: g for g in desired.grants}
    for key, grant in want.items():
        old = have.get(key)
        if old is None or (grant.grantable and not old.grantable):
            out.append(c.GrantPrivilege(grant))
        elif old.grantable and not grant.grantable:
            out.append(c.RevokePrivilege(old, grant_option_only=True))
    declared_pairs = {(_object(g), g.grantee) for g in desired.grants}
    objects = _objects(desired)
    for key, grant in have.items():
        if key in want:
            continue
        if (_object(grant), grant.grantee) in declared_pairs or (options.prune and _object(grant) in objects):
            out.append(c.RevokePrivilege(grant))
    return out


def left_alone_grants(current: Schema, desired: Schema) -> list[Grant]:
    """Named roles' privileges on the models' objects that the models do not declare, kept without prune."""
    named = {g.grantee for g in desired.grants}
    want = {g.key for g in desired.grants}
    declared_pairs = {(_object(g), g.grantee) for g in desired.grants}
    objects = _objects(desired)
    return [
        g
        for g in current.grants
        if g.grantee in named
        and g.key not in want
        and (_object(g), g.grantee) not in declared_pairs
        and _object(g) in objects
    ]
