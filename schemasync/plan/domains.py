"""Planning domain changes: CREATE DOMAIN, ALTER DOMAIN (default, NOT NULL, checks), recreate, DROP DOMAIN.

A new check or NOT NULL on a domain is checked by PostgreSQL against every column using it, so each
such column gets a DATA_DEPENDENT hazard whose rows are counted beforehand: the values are read
through a one-column derived table named `value`, so the check's own text (over VALUE) is the probe
with no rewriting. Online (`--online`), a new check is added NOT VALID (new values are checked at once)
and validated after the transaction commits, as a table's is.
"""

from __future__ import annotations

from schemasync.diff import changes as c
from schemasync.diff.names import base_type
from schemasync.plan.dispatch import PlanContext, plan_change
from schemasync.plan.hazards import Hazard, HazardKind, Probe
from schemasync.plan.model import Statement
from schemasync.plan.sql import ident
from schemasync.plan.tables import check_sql
from schemasync.plan.types import old_type_name
from schemasync.schema.model import Domain


def _label(schema: str, name: str) -> str:
    return name if schema == "public" else f"{schema}.{name}"


def create_sql(d: Domain) -> str:
    parts = [f"CREATE DOMAIN {ident(d.schema, d.name)} AS {d.type}"]
    if d.collation is not None:
        parts.append(f"COLLATE {d.collation}")
    if d.default is not None:
        parts.append(f"DEFAULT {d.default}")
    if not d.nullable:
        parts.append("NOT NULL")
    parts += [check_sql(k) for k in d.checks]
    return " ".join(parts)


@plan_change.register
def plan_create_domain(change: c.CreateDomain, ctx: PlanContext) -> list[Statement]:
    return [Statement(create_sql(change.domain))]


def _values(ctx: PlanContext, use: c.DomainUse) -> str:
    """The column's values as a derived table `v(value)`: one row per row, or per element of an array."""
    column = f"t.{ident(ctx.old_column(use[0], use[1], use[2]))}"
    return f"unnest({column})" if use[3] else f"(SELECT {column})"


def _probe(ctx: PlanContext, use: c.DomainUse, predicate: str, template: str) -> Probe:
    return Probe(use[0], ctx.renames.old_table(use[0], use[1]), "where", predicate=predicate, template=template)


@plan_change.register
def plan_add_domain_check(change: c.AddDomainCheck, ctx: PlanContext) -> list[Statement]:
    k = change.check
    domain = ident(change.schema, change.name)
    hazards = []
    for use in change.columns:
        where = f"{_label(use[0], use[1])}.{use[2]}"
        hazards.append(
            Hazard(
                HazardKind.DATA_DEPENDENT,
                f"check {k.name} on domain {_label(change.schema, change.name)} fails if values of {where} violate it",
                probe=_probe(
                    ctx,
                    use,
                    f"EXISTS (SELECT FROM {_values(ctx, use)} AS v(value) WHERE NOT {k.expression})",
                    f"{where} has {{count}} violating check {k.name}: fix them first",
                ),
            )
        )
        hazards += ctx.locking(use[0], use[1], f"scans the table to check {k.name}")
    if not (ctx.online and change.columns):
        return [Statement(f"ALTER DOMAIN {domain} ADD {check_sql(k)}", tuple(hazards))]
    note = Hazard(
        HazardKind.CORRECTNESS,
        f"validates {k.name} after the transaction commits (reads and writes go on); if it fails, the check "
        "stays NOT VALID (still enforced for new values) and the run fails",
    )
    return [
        Statement(f"ALTER DOMAIN {domain} ADD {check_sql(k)} NOT VALID"),
        Statement(
            f"ALTER DOMAIN {domain} VALIDATE CONSTRAINT {ident(k.name)}",
            (*[h for h in hazards if h.kind is HazardKind.DATA_DEPENDENT], note),
            transactional=False,
        ),
    ]


@plan_change.register
def plan_drop_domain_check(change: c.DropDomainCheck, ctx: PlanContext) -> list[Statement]:
    return [Statement(f"ALTER DOMAIN {ident(change.schema, change.name)} DROP CONSTRAINT {ident(change.check)}")]


@plan_change.register
def plan_domain_default(change: c.AlterDomainDefault, ctx: PlanContext) -> list[Statement]:
    domain = ident(change.schema, change.name)
    if change.default is None:
        return [Statement(f"ALTER DOMAIN {domain} DROP DEFAULT")]
    return [Statement(f"ALTER DOMAIN {domain} SET DEFAULT {change.default}")]


@plan_change.register
def plan_domain_nullability(change: c.AlterDomainNullability, ctx: PlanContext) -> list[Statement]:
    domain = ident(change.schema, change.name)
    if change.nullable:
        return [Statement(f"ALTER DOMAIN {domain} DROP NOT NULL")]
    hazards = []
    for use in change.columns:
        where = f"{_label(use[0], use[1])}.{use[2]}"
        column = f"t.{ident(ctx.old_column(use[0], use[1], use[2]))}"
        predicate = (
            f"EXISTS (SELECT FROM unnest({column}) AS v(value) WHERE value IS NULL)" if use[3] else f"{column} IS NULL"
        )
        hazards.append(
            Hazard(
                HazardKind.DATA_DEPENDENT,
                f"NOT NULL on domain {_label(change.schema, change.name)} fails if {where} holds NULLs",
                probe=_probe(ctx, use, predicate, f"{where} has {{count}} holding NULL: fill them first"),
            )
        )
        hazards += ctx.locking(use[0], use[1], "scans the table to check NOT NULL")
    return [Statement(f"ALTER DOMAIN {domain} SET NOT NULL", tuple(hazards))]


@plan_change.register
def plan_recreate_domain(change: c.RecreateDomain, ctx: PlanContext) -> list[Statement]:
    d = change.domain
    aside = old_type_name(d.name)
    out = [
        Statement(f"ALTER DOMAIN {ident(d.schema, d.name)} RENAME TO {ident(aside)}"),
        Statement(create_sql(d)),
    ]
    base, _ = base_type(d.type)
    for use in change.columns:
        schema, table, column, dims = use
        col = ident(column)
        target = ident(d.schema, d.name) + "[]" * dims
        cast = base + "[]" * dims
        hazards = (
            Hazard(
                HazardKind.DATA_DEPENDENT,
                f"recasts {_label(schema, table)}.{column} from {change.old_type} to {d.type} (domain "
                f"{_label(d.schema, d.name)}): fails if a value does not convert or violates the domain",
            ),
            *ctx.rewriting(schema, table, "rewrites the table under an ACCESS EXCLUSIVE lock"),
        )
        out.append(
            Statement(
                f"ALTER TABLE {ident(schema, table)} ALTER COLUMN {col} TYPE {target} USING {col}::{cast}", hazards
            )
        )
    out.append(Statement(f"DROP DOMAIN {ident(d.schema, aside)}"))
    return out


@plan_change.register
def plan_drop_domain(change: c.DropDomain, ctx: PlanContext) -> list[Statement]:
    fact = f"drops domain {_label(change.schema, change.name)}; PostgreSQL refuses while a column still uses it"
    return [Statement(f"DROP DOMAIN {ident(change.schema, change.name)}", (Hazard(HazardKind.CORRECTNESS, fact),))]
