"""Planning GRANT and REVOKE, and ALTER DEFAULT PRIVILEGES: every name, column and role quoted here, a routine by
its argument types."""

from __future__ import annotations

from schemasync.diff import changes as c
from schemasync.diff.grants import default_text
from schemasync.plan.dispatch import PlanContext, plan_change
from schemasync.plan.hazards import Hazard, HazardKind
from schemasync.plan.model import Statement
from schemasync.plan.sql import ident, raw
from schemasync.schema.model import DefaultPrivilege, Grant

_PRIVILEGES = frozenset(
    {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "USAGE", "CREATE", "EXECUTE"}
)


def _target(g: Grant) -> str:
    if g.kind == "schema":
        return f"SCHEMA {ident(g.schema)}"
    if g.kind in ("function", "procedure"):
        return f"{g.kind.upper()} {ident(g.schema, g.name)}({raw(g.arguments)})"
    return f"{g.kind.upper()} {ident(g.schema, g.name)}"


def _privilege(g: Grant) -> str:
    """`SELECT`, or `SELECT ("body")` for a column privilege."""
    if g.privilege not in _PRIVILEGES:  # the catalog's own words; anything else is not ours to paste
        raise ValueError(f"unexpected privilege {g.privilege!r}")
    return f"{g.privilege} ({ident(g.column)})" if g.column else g.privilege


def _grantee(g: Grant | DefaultPrivilege) -> str:
    return "PUBLIC" if g.grantee == "public" else ident(g.grantee)


def grant_sql(g: Grant) -> str:
    """The GRANT statement for `g`: also what `introspect` writes back as its DDL event."""
    option = " WITH GRANT OPTION" if g.grantable else ""
    return f"GRANT {_privilege(g)} ON {_target(g)} TO {_grantee(g)}{option}"


@plan_change.register
def plan_grant(change: c.GrantPrivilege, ctx: PlanContext) -> list[Statement]:
    return [Statement(grant_sql(change.grant))]


@plan_change.register
def plan_revoke(change: c.RevokePrivilege, ctx: PlanContext) -> list[Statement]:
    g = change.grant
    what = "GRANT OPTION FOR " if change.grant_option_only else ""
    if change.restores:
        return [Statement(f"REVOKE {_privilege(g)} ON {_target(g)} FROM {_grantee(g)}")]
    on = f"column {g.name}.{g.column}" if g.column else f"{g.kind} {g.name or g.schema}"
    fact = f"revokes {what}{g.privilege} on {on} from {g.grantee}: what it did with it fails"
    return [
        Statement(
            f"REVOKE {what}{_privilege(g)} ON {_target(g)} FROM {_grantee(g)}", (Hazard(HazardKind.CORRECTNESS, fact),)
        )
    ]


def _default_head(d: DefaultPrivilege) -> str:
    """`ALTER DEFAULT PRIVILEGES [FOR ROLE r] IN SCHEMA s`: no FOR ROLE for the role the plan runs as."""
    creator = f" FOR ROLE {ident(d.role)}" if d.role else ""
    return f"ALTER DEFAULT PRIVILEGES{creator} IN SCHEMA {ident(d.schema)}"


_DEFAULT_KINDS = frozenset({"tables", "sequences", "functions", "types"})


def _default_privilege(d: DefaultPrivilege) -> str:
    if d.privilege not in _PRIVILEGES or d.kind not in _DEFAULT_KINDS:  # the catalog's own words only
        raise ValueError(f"unexpected default privilege {d.privilege!r} on {d.kind!r}")
    return f"{d.privilege} ON {d.kind.upper()}"


def default_privilege_sql(d: DefaultPrivilege) -> str:
    """The ALTER DEFAULT PRIVILEGES ... GRANT for `d`: also what `introspect` writes back as its DDL event."""
    option = " WITH GRANT OPTION" if d.grantable else ""
    return f"{_default_head(d)} GRANT {_default_privilege(d)} TO {_grantee(d)}{option}"


@plan_change.register
def plan_grant_default(change: c.GrantDefaultPrivilege, ctx: PlanContext) -> list[Statement]:
    return [Statement(default_privilege_sql(change.default))]


@plan_change.register
def plan_revoke_default(change: c.RevokeDefaultPrivilege, ctx: PlanContext) -> list[Statement]:
    d = change.default
    what = "GRANT OPTION FOR " if change.grant_option_only else ""
    fact = f"revokes the default {what}{default_text(d)}: {d.kind} created there later no longer get it"
    return [
        Statement(
            f"{_default_head(d)} REVOKE {what}{_default_privilege(d)} FROM {_grantee(d)}",
            (Hazard(HazardKind.CORRECTNESS, fact),),
        )
    ]
