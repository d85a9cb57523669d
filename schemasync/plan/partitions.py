"""Planning partitions: CREATE TABLE ... PARTITION OF, ATTACH / DETACH PARTITION, DROP; a new key is refused.

Creating a partition next to a DEFAULT partition moves nothing: PostgreSQL scans the default
partition and fails if it holds rows of the new bound (DATA_DEPENDENT). Attaching a table scans it to
check that its rows fit the bound (DATA_DEPENDENT, and LOCKING when big: the table is locked
ACCESS EXCLUSIVE for the scan; the parent only SHARE UPDATE EXCLUSIVE). The bound text is
PostgreSQL's own rendering (`pg_get_expr(relpartbound)`), read from the catalog.
"""

from __future__ import annotations

from schemasync.diff import changes as c
from schemasync.errors import Refused
from schemasync.plan.dispatch import PlanContext, plan_change
from schemasync.plan.hazards import Hazard, HazardKind, Probe
from schemasync.plan.model import Statement
from schemasync.plan.sql import ident


def _label(schema: str, table: str) -> str:
    return table if schema == "public" else f"{schema}.{table}"


def _default_partition(ctx: PlanContext, schema: str, table: str) -> str | None:
    before = ctx.before(schema, table)
    found = next((p for p in before.partition_bounds if p.bound == "DEFAULT"), None) if before else None
    return None if found is None else _label(found.schema, found.name)


@plan_change.register
def plan_create_partition(change: c.CreatePartition, ctx: PlanContext) -> list[Statement]:
    s, t, p = change.schema, change.table, change.partition
    sql = f"CREATE TABLE {ident(p.schema, p.name)} PARTITION OF {ident(s, t)} {p.bound}"
    default = _default_partition(ctx, s, t) if p.bound != "DEFAULT" else None
    if default is None:
        return [Statement(sql)]
    fact = (
        f"partition {p.name} fails if the default partition {default} of {_label(s, t)} holds rows of its bound "
        "(not counted: move them out first)"
    )
    return [Statement(sql, (Hazard(HazardKind.DATA_DEPENDENT, fact),))]


@plan_change.register
def plan_attach_partition(change: c.AttachPartition, ctx: PlanContext) -> list[Statement]:
    s, t, p = change.schema, change.table, change.partition
    hazards: list[Hazard] = [
        Hazard(
            HazardKind.DATA_DEPENDENT,
            f"attaching {_label(p.schema, p.name)} to {_label(s, t)} fails if any of its rows is outside {p.bound} "
            "(not counted)",
        )
    ]
    standalone = ctx.before(p.schema, p.name)
    if standalone is not None:
        hazards += ctx.locking(p.schema, p.name, "scans the table to check its rows fit the partition bound")
    sql = f"ALTER TABLE {ident(s, t)} ATTACH PARTITION {ident(p.schema, p.name)} {p.bound}"
    return [Statement(sql, tuple(hazards))]


@plan_change.register
def plan_detach_partition(change: c.DetachPartition, ctx: PlanContext) -> list[Statement]:
    sql = f"ALTER TABLE {ident(change.schema, change.table)} DETACH PARTITION {ident(change.partition_schema, change.name)}"
    return [Statement(sql)]


@plan_change.register
def plan_drop_partition(change: c.DropPartition, ctx: PlanContext) -> list[Statement]:
    name = _label(change.partition_schema, change.name)
    probe = Probe(change.partition_schema, change.name, "rows", template=f"drops partition {name} and its {{count}}")
    fact = f"drops partition {name} of {_label(change.schema, change.table)} and all its rows"
    return [
        Statement(
            f"DROP TABLE {ident(change.partition_schema, change.name)}",
            (Hazard(HazardKind.DELETES_DATA, fact, probe=probe),),
        )
    ]


@plan_change.register
def plan_repartition(change: c.Repartition, ctx: PlanContext) -> list[Statement]:
    name = _label(change.schema, change.table)
    old = f"partitioned by {change.old}" if change.old else "not partitioned"
    new = f"partitioned by {change.new}"
    raise Refused(
        f"The models want table {name} {new}, but in the database it is {old}: PostgreSQL cannot change a "
        "table's partitioning in place, and schemasync does not drop and re-create a table to do it.",
        f"Create the new table under another name, copy the rows (INSERT INTO ... SELECT), drop {name} and rename "
        "the new one; or, when its rows are not needed, drop it by hand (or exclude it with --exclude-tables) "
        "and sync again.",
    )
