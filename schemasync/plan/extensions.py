"""Planning extension changes: CREATE EXTENSION, ALTER EXTENSION ... UPDATE TO, DROP EXTENSION (prune).

Created with IF NOT EXISTS and CASCADE: an extension the models want may require another one that the
models do not name (earthdistance needs cube), which CASCADE installs in the same schema; that one is
also on the models' side (`schema/extensions.py`), and its own CREATE then finds it in place. Dropped
without CASCADE: PostgreSQL refuses while a column, index or function still uses what it provides,
and the whole plan rolls back rather than losing those objects.
"""

from __future__ import annotations

from schemasync.diff import changes as c
from schemasync.plan.dispatch import PlanContext, plan_change
from schemasync.plan.hazards import Hazard, HazardKind
from schemasync.plan.model import Statement
from schemasync.plan.sql import ident, literal


@plan_change.register
def plan_create_extension(change: c.CreateExtension, ctx: PlanContext) -> list[Statement]:
    x = change.extension
    version = f" VERSION {literal(x.version)}" if x.version is not None else ""
    return [Statement(f"CREATE EXTENSION IF NOT EXISTS {ident(x.name)} WITH SCHEMA {ident(x.schema)}{version} CASCADE")]


@plan_change.register
def plan_update_extension(change: c.UpdateExtension, ctx: PlanContext) -> list[Statement]:
    fact = (
        f"updates extension {change.name} from version {change.old_version} to {change.version}: its update "
        "script may change the functions and operators the application uses"
    )
    return [
        Statement(
            f"ALTER EXTENSION {ident(change.name)} UPDATE TO {literal(change.version)}",
            (Hazard(HazardKind.CORRECTNESS, fact),),
        )
    ]


@plan_change.register
def plan_drop_extension(change: c.DropExtension, ctx: PlanContext) -> list[Statement]:
    fact = (
        f"drops extension {change.name} and every type, function and operator it provides; PostgreSQL refuses "
        "while anything in the database still uses one of them"
    )
    return [Statement(f"DROP EXTENSION {ident(change.name)}", (Hazard(HazardKind.CORRECTNESS, fact),))]
