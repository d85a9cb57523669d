"""Row-level security: a table's ENABLE / FORCE flags and its policies.

A table the models declare row-level security for (`ALTER TABLE ... ENABLE|FORCE ROW LEVEL SECURITY`)
gets exactly the declared flags; a table they say nothing about keeps the database's flags unless prune
(turning row-level security off is a change to who sees which rows, so it never happens by omission).
A policy is known by its table and name; its USING and WITH CHECK expressions are compared in the normal
form of `diff/expressions.py`. A changed policy is altered in place when ALTER POLICY can do it (roles and
expressions, but a clause cannot be removed), else dropped and created in the same transaction.
Policies the models do not declare are left alone unless prune.
"""

from __future__ import annotations

from schemasync.diff import changes as c
from schemasync.diff.expressions import same_expression
from schemasync.diff.scope import CompareOptions
from schemasync.schema.model import Policy, RowSecurity, Schema, Table


def compare_row_security(current: Schema, desired: Schema, options: CompareOptions) -> list[c.Change]:
    out: list[c.Change] = []
    have = {r.key: r for r in current.row_security}
    want = {r.key: r for r in desired.row_security}
    for table in desired.tables:
        old = have.get(table.key, RowSecurity(*table.key, enabled=False, forced=False))
        new = want.get(table.key)
        if new is None:
            if not options.prune:
                continue  # not declared: left alone (`left_alone_security`)
            new = RowSecurity(*table.key, enabled=False, forced=False)
        if (old.enabled, old.forced) != (new.enabled, new.forced):
            out.append(c.AlterRowSecurity(*table.key, new.enabled, new.forced, old.enabled, old.forced))
    return out


def compare_policies(current: Schema, desired: Schema, options: CompareOptions) -> list[c.Change]:
    out: list[c.Change] = []
    have = {p.key: p for p in current.policies}
    for policy in desired.policies:
        old = have.get(policy.key)
        if old is None:
            out.append(c.CreatePolicy(policy))
        elif not same_policy(old, current, policy, desired):
            alterable = (old.command, old.permissive) == (policy.command, policy.permissive) and (
                (old.using is None or policy.using is not None) and (old.check is None or policy.check is not None)
            )
            out.append(c.AlterPolicy(policy, old) if alterable else c.RecreatePolicy(policy, old))
    if options.prune:
        wanted = {p.key for p in desired.policies}
        tables = {t.key for t in desired.tables}
        out += [c.DropPolicy(*p.key) for p in current.policies if p.key not in wanted and (p.schema, p.table) in tables]
    return out


def same_policy(old: Policy, current: Schema, new: Policy, desired: Schema) -> bool:
    if (old.command, old.permissive, old.roles) != (new.command, new.permissive, new.roles):
        return False
    new_table = desired.table(new.schema, new.table) or Table(new.schema, new.table, ())
    old_table = current.table(old.schema, old.table) or new_table
    return same_expression(old.using, old_table, new.using, new_table) and same_expression(
        old.check, old_table, new.check, new_table
    )


def left_alone_security(current: Schema, desired: Schema) -> list[tuple[str, str, str, str | None]]:
    """(kind, schema, name, table) of row-level security settings and policies on the models' tables that
    the models do not declare: kept without prune."""
    tables = {t.key for t in desired.tables}
    declared = {r.key for r in desired.row_security}
    out: list[tuple[str, str, str, str | None]] = [
        ("row security", r.schema, r.table, None)
        for r in current.row_security
        if r.key in tables and r.key not in declared
    ]
    wanted = {p.key for p in desired.policies}
    out += [
        ("policy", p.schema, p.name, p.table)
        for p in current.policies
        if p.key not in wanted and (p.schema, p.table) in tables
    ]
    return out
