"""Planning ALTER ... OWNER TO the role of the `owner` setting (`diff/owners.py`): names and the role quoted here.

Giving away an object that had another owner is a CORRECTNESS hazard: the previous owner's implicit privileges
go with it. An object created by the same plan has no previous owner to speak of.
"""

from __future__ import annotations

from schemasync.diff import changes as c
from schemasync.plan.dispatch import PlanContext, plan_change
from schemasync.plan.hazards import Hazard, HazardKind
from schemasync.plan.model import Statement
from schemasync.plan.sql import ident, raw


def owner_target(kind: str, schema: str, name: str, arguments: str = "") -> str:
    if kind == "schema":
        return f"SCHEMA {ident(schema)}"
    if kind in ("function", "procedure"):
        return f"{kind.upper()} {ident(schema, name)}({raw(arguments)})"
    return f"{kind.upper()} {ident(schema, name)}"


@plan_change.register
def plan_alter_owner(change: c.AlterOwner, ctx: PlanContext) -> list[Statement]:
    what = owner_target(change.kind, change.schema, change.name, change.arguments)
    sql = f"ALTER {what} OWNER TO {ident(change.owner)}"
    if change.old_owner is None:
        return [Statement(sql)]
    label = (
        f"{change.kind} {change.schema}" if change.kind == "schema" else f"{change.kind} {change.schema}.{change.name}"
    )
    fact = (
        f"gives {label} from {change.old_owner} to {change.owner}: {change.old_owner} keeps no privilege on it beyond "
        f"those granted to it, and {change.owner} may alter or drop it"
    )
    return [Statement(sql, (Hazard(HazardKind.CORRECTNESS, fact),))]
