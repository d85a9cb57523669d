"""Planning composite type changes: CREATE TYPE ... AS (...), ALTER TYPE ... attributes, recreate, DROP TYPE.

ADD and DROP ATTRIBUTE run in place (PostgreSQL allows them while columns use the type; a dropped
attribute's values are lost, said as DELETES_DATA). ALTER ATTRIBUTE TYPE is refused while a column uses
the type, so then the type is recreated: the old one renamed aside, the new one created, each column
recast through a row constructor that reads every kept attribute (cast to its new type) and NULL for
new ones, and the old type dropped. Everything runs in the plan's transaction: a value that does not
convert makes the recast fail and nothing changes.
"""

from __future__ import annotations

from schemasync.diff import changes as c
from schemasync.plan.dispatch import PlanContext, plan_change
from schemasync.plan.hazards import Hazard, HazardKind
from schemasync.plan.model import Statement
from schemasync.plan.sql import ident
from schemasync.plan.types import old_type_name
from schemasync.schema.model import Attribute, CompositeType


def _label(schema: str, name: str) -> str:
    return name if schema == "public" else f"{schema}.{name}"


def _attribute(a: Attribute) -> str:
    return f"{ident(a.name)} {a.type}" + (f" COLLATE {a.collation}" if a.collation is not None else "")


def create_sql(t: CompositeType) -> str:
    return f"CREATE TYPE {ident(t.schema, t.name)} AS ({', '.join(_attribute(a) for a in t.attributes)})"


@plan_change.register
def plan_create_composite(change: c.CreateComposite, ctx: PlanContext) -> list[Statement]:
    return [Statement(create_sql(change.type))]


@plan_change.register
def plan_alter_composite(change: c.AlterComposite, ctx: PlanContext) -> list[Statement]:
    actions = [f"ADD ATTRIBUTE {_attribute(a)}" for a in change.add]
    actions += [f"DROP ATTRIBUTE {ident(name)}" for name in change.drop]
    for a in change.retype:
        actions.append(f"ALTER ATTRIBUTE {ident(a.name)} TYPE {a.type}")
        if a.collation is not None:
            actions[-1] += f" COLLATE {a.collation}"
    hazards = tuple(
        Hazard(
            HazardKind.DELETES_DATA,
            f"drops attribute {name} of type {_label(change.schema, change.name)}: its values in "
            f"{_label(use[0], use[1])}.{use[2]} are lost",
        )
        for name in change.drop
        for use in change.columns
    )
    return [Statement(f"ALTER TYPE {ident(change.schema, change.name)} {', '.join(actions)}", hazards)]


@plan_change.register
def plan_recreate_composite(change: c.RecreateComposite, ctx: PlanContext) -> list[Statement]:
    t, old = change.type, change.old
    aside = old_type_name(t.name)
    new_type = ident(t.schema, t.name)
    out = [
        Statement(f"ALTER TYPE {new_type} RENAME TO {ident(aside)}"),
        Statement(create_sql(t)),
    ]
    kept = {a.name for a in old.attributes}
    lost = [a.name for a in old.attributes if a.name not in {n.name for n in t.attributes}]
    for schema, table, column, dims in change.columns:
        value = "e" if dims else ident(column)
        fields = ", ".join(
            f"({value}).{ident(a.name)}::{a.type}" if a.name in kept else f"NULL::{a.type}" for a in t.attributes
        )
        row = f"ROW({fields})::{new_type}"
        col = ident(column)
        if dims:
            using = (
                f"CASE WHEN {col} IS NULL THEN NULL ELSE ARRAY(SELECT {row} FROM unnest({col}) WITH ORDINALITY "  # noqa: S608 (identifiers quoted; catalog-rendered SQL)
                f"AS u(e, o) ORDER BY o) END"
            )
        else:
            using = f"CASE WHEN {col} IS NULL THEN NULL ELSE {row} END"
        where = f"{_label(schema, table)}.{column}"
        hazards = [
            Hazard(
                HazardKind.DATA_DEPENDENT,
                f"recasts {where} to the new {_label(t.schema, t.name)} attribute by attribute: fails if a value "
                "does not convert",
            ),
            *ctx.rewriting(schema, table, "rewrites the table under an ACCESS EXCLUSIVE lock"),
        ]
        if lost:
            hazards.append(Hazard(HazardKind.DELETES_DATA, f"the values of {', '.join(lost)} in {where} are lost"))
        out.append(
            Statement(
                f"ALTER TABLE {ident(schema, table)} ALTER COLUMN {col} TYPE {new_type}{'[]' * dims} USING {using}",
                tuple(hazards),
            )
        )
    out.append(Statement(f"DROP TYPE {ident(t.schema, aside)}"))
    return out


@plan_change.register
def plan_drop_composite(change: c.DropComposite, ctx: PlanContext) -> list[Statement]:
    fact = f"drops composite type {_label(change.schema, change.name)}; PostgreSQL refuses while a column uses it"
    return [Statement(f"DROP TYPE {ident(change.schema, change.name)}", (Hazard(HazardKind.CORRECTNESS, fact),))]
