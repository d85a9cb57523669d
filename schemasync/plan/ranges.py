"""Planning range types: CREATE TYPE ... AS RANGE, DROP TYPE, and a changed one dropped and created when unused.

A range type in use cannot be dropped, and PostgreSQL has no ALTER for its definition, so a changed one with
columns still of it is planned with a blocking hazard naming them: the plan is refused, nothing runs.
"""

from __future__ import annotations

from schemasync.diff import changes as c
from schemasync.plan.dispatch import PlanContext, plan_change
from schemasync.plan.hazards import Hazard, HazardKind
from schemasync.plan.model import Statement
from schemasync.plan.sql import ident, raw
from schemasync.schema.model import RangeType


def _label(schema: str, name: str) -> str:
    return name if schema == "public" else f"{schema}.{name}"


def create_sql(r: RangeType) -> str:
    """The CREATE TYPE for `r`, every option as the catalog renders it: also what `introspect` writes back."""
    options = [f"SUBTYPE = {raw(r.subtype)}"]
    for key, value in (
        ("SUBTYPE_OPCLASS", r.subtype_opclass),
        ("COLLATION", r.collation),
        ("CANONICAL", r.canonical),
        ("SUBTYPE_DIFF", r.subtype_diff),
        ("MULTIRANGE_TYPE_NAME", r.multirange),
    ):
        if value is not None:
            options.append(f"{key} = {raw(value)}")
    return f"CREATE TYPE {ident(r.schema, r.name)} AS RANGE ({', '.join(options)})"


def _drop_sql(schema: str, name: str) -> str:
    return f"DROP TYPE {ident(schema, name)}"


@plan_change.register
def plan_create_range(change: c.CreateRange, ctx: PlanContext) -> list[Statement]:
    return [Statement(create_sql(change.range))]


@plan_change.register
def plan_recreate_range(change: c.RecreateRange, ctx: PlanContext) -> list[Statement]:
    r = change.range
    label = _label(r.schema, r.name)
    if change.uses:
        columns = ", ".join(_label(s, f"{t}.{col}") for s, t, col in change.uses)
        fact = (
            f"range type {label} changed, and PostgreSQL can neither alter a range type nor drop one in use "
            f"(columns {columns}): change those columns to another type first, or keep the range as it is"
        )
        hazard = Hazard(HazardKind.DATA_DEPENDENT, fact, violations=len(change.uses))
        return [Statement(_drop_sql(r.schema, r.name), (hazard,)), Statement(create_sql(r))]
    fact = f"drops range type {label} and creates it again as declared (nothing uses it; PostgreSQL cannot alter it)"
    return [
        Statement(_drop_sql(r.schema, r.name), (Hazard(HazardKind.CORRECTNESS, fact),)),
        Statement(create_sql(r)),
    ]


@plan_change.register
def plan_drop_range(change: c.DropRange, ctx: PlanContext) -> list[Statement]:
    fact = f"drops range type {_label(change.schema, change.name)}, which the models do not declare"
    return [Statement(_drop_sql(change.schema, change.name), (Hazard(HazardKind.CORRECTNESS, fact),))]
