"""Planning row-level security: the table flags and policies.

Names and roles are quoted here; the USING and WITH CHECK expressions are PostgreSQL's own rendering
(`pg_get_expr` of the materialised models), pasted as they are. Every statement runs in the plan's
transaction, so a policy dropped and created again is never missing for another session, and turning
row-level security on together with its policies never shows anyone an empty or an unfiltered table.
"""

from __future__ import annotations

from schemasync.diff import changes as c
from schemasync.plan.dispatch import PlanContext, plan_change
from schemasync.plan.hazards import Hazard, HazardKind
from schemasync.plan.model import Statement
from schemasync.plan.sql import ident, raw
from schemasync.schema.model import Policy


def _roles(policy: Policy) -> str:
    return ", ".join("PUBLIC" if role == "public" else ident(role) for role in policy.roles)


def _clauses(policy: Policy) -> str:
    text = f" TO {_roles(policy)}"
    if policy.using is not None:
        text += f" USING ({raw(policy.using)})"
    if policy.check is not None:
        text += f" WITH CHECK ({raw(policy.check)})"
    return text


def policy_sql(p: Policy) -> str:
    """The statement creating `p`: also what `introspect` writes back as its DDL event."""
    kind = "PERMISSIVE" if p.permissive else "RESTRICTIVE"
    return f"CREATE POLICY {ident(p.name)} ON {ident(p.schema, p.table)} AS {kind} FOR {p.command}{_clauses(p)}"


def row_security_sql(schema: str, table: str, flag: str) -> str:
    """`ALTER TABLE t ENABLE|FORCE|DISABLE|NO FORCE ROW LEVEL SECURITY`, the form the engine manages."""
    return f"ALTER TABLE {ident(schema, table)} {flag} ROW LEVEL SECURITY"


def _create(p: Policy) -> Statement:
    return Statement(policy_sql(p))


def _drop(schema: str, table: str, name: str, hazards: tuple[Hazard, ...] = ()) -> Statement:
    return Statement(f"DROP POLICY {ident(name)} ON {ident(schema, table)}", hazards)


@plan_change.register
def plan_create_policy(change: c.CreatePolicy, ctx: PlanContext) -> list[Statement]:
    return [_create(change.policy)]


@plan_change.register
def plan_alter_policy(change: c.AlterPolicy, ctx: PlanContext) -> list[Statement]:
    p = change.policy
    return [Statement(f"ALTER POLICY {ident(p.name)} ON {ident(p.schema, p.table)}{_clauses(p)}")]


@plan_change.register
def plan_recreate_policy(change: c.RecreatePolicy, ctx: PlanContext) -> list[Statement]:
    p = change.policy
    return [_drop(p.schema, p.table, change.old.name), _create(p)]


@plan_change.register
def plan_drop_policy(change: c.DropPolicy, ctx: PlanContext) -> list[Statement]:
    if change.reason and change.recreated:
        fact = (
            f"drops policy {change.name} on {change.schema}.{change.table} and re-creates it later in this "
            f"transaction ({change.reason})"
        )
    elif change.reason:
        fact = (
            f"drops policy {change.name} on {change.schema}.{change.table} ({change.reason}): the models do not "
            "declare it, so it is not re-created; the rows it let through (or kept out) change"
        )
    else:
        fact = (
            f"drops policy {change.name} on {change.schema}.{change.table}, which the models do not declare: "
            "the rows it let through (or kept out) change"
        )
    return [_drop(change.schema, change.table, change.name, (Hazard(HazardKind.CORRECTNESS, fact),))]


@plan_change.register
def plan_alter_row_security(change: c.AlterRowSecurity, ctx: PlanContext) -> list[Statement]:
    out = []
    if change.enabled != change.old_enabled:
        hazards = ()
        if not change.enabled:
            fact = f"disables row-level security on {change.schema}.{change.table}: its policies stop filtering rows"
            hazards = (Hazard(HazardKind.CORRECTNESS, fact),)
        out.append(
            Statement(row_security_sql(change.schema, change.table, "ENABLE" if change.enabled else "DISABLE"), hazards)
        )
    if change.forced != change.old_forced:
        out.append(Statement(row_security_sql(change.schema, change.table, "FORCE" if change.forced else "NO FORCE")))
    return out
