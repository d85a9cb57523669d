"""Planning key and constraint changes, with the rows that would violate them counted beforehand.

Foreign keys and checks on existing tables are added NOT VALID and then validated. Inside one
transaction that changes nothing about locking (every lock is held until COMMIT); it is the form
that lets `concurrent_indexes` move the VALIDATE after the commit, where it scans the table while
reads and writes go on (SHARE UPDATE EXCLUSIVE); `online` implies it. New rows are checked from the moment the NOT VALID
constraint exists, so nothing slips through in between.
"""

from __future__ import annotations

from schemasync.diff import changes as c
from schemasync.plan.dispatch import PlanContext, plan_change
from schemasync.plan.hazards import Hazard, HazardKind, Probe
from schemasync.plan.model import Statement
from schemasync.plan.sql import ident, idents
from schemasync.plan.tables import check_sql, deferrable_sql, primary_key_sql, unique_sql
from schemasync.schema.model import ForeignKey


def _label(schema: str, table: str) -> str:
    return table if schema == "public" else f"{schema}.{table}"


# The constraint changes, all of which name their table by `schema` and `table`.
_ConstraintChange = (
    c.AddPrimaryKey
    | c.DropPrimaryKey
    | c.AddUnique
    | c.DropUnique
    | c.AddForeignKey
    | c.DropForeignKey
    | c.AddCheck
    | c.DropCheck
    | c.ValidateConstraint
    | c.RenameConstraint
)


def _alter(change: _ConstraintChange) -> str:
    return f"ALTER TABLE {ident(change.schema, change.table)}"


def _duplicates(
    ctx: PlanContext, schema: str, table: str, columns: tuple[str, ...], *, nulls_distinct: bool, what: str
) -> Hazard:
    old = [f"t.{ident(ctx.old_column(schema, table, col))}" for col in columns]
    return Hazard(
        HazardKind.DATA_DEPENDENT,
        f"{what} fails if existing rows of {_label(schema, table)} repeat ({', '.join(columns)})",
        probe=Probe(
            schema,
            ctx.renames.old_table(schema, table),
            "duplicates",
            predicate=" AND ".join(f"{o} IS NOT NULL" for o in old) if nulls_distinct else "true",
            columns=tuple(old),
            template=f"{_label(schema, table)} has {{count}} of ({', '.join(columns)}): "
            f"remove the duplicates before adding the {what}",
        ),
    )


def _index_build(ctx: PlanContext, schema: str, table: str, what: str) -> tuple[Hazard, ...]:
    if not ctx.big(schema, table):
        return ()
    return (
        Hazard(
            HazardKind.INDEX_BUILD, f"{what} builds an index on {_label(schema, table)} ({ctx.size_of(schema, table)})"
        ),
        *ctx.locking(schema, table, "blocks writes (SHARE lock) while the index builds"),
    )


@plan_change.register
def plan_add_primary_key(change: c.AddPrimaryKey, ctx: PlanContext) -> list[Statement]:
    s, t = change.schema, change.table
    hazards: tuple[Hazard, ...] = ()
    if not ctx.is_new(s, t):
        hazards = (
            _duplicates(ctx, s, t, change.key.columns, nulls_distinct=True, what="primary key"),
            *_index_build(ctx, s, t, "the primary key"),
        )
    return [Statement(f"{_alter(change)} ADD {primary_key_sql(change.key)}", hazards)]


@plan_change.register
def plan_add_unique(change: c.AddUnique, ctx: PlanContext) -> list[Statement]:
    s, t, u = change.schema, change.table, change.constraint
    hazards: tuple[Hazard, ...] = ()
    if not ctx.is_new(s, t):
        hazards = (
            _duplicates(ctx, s, t, u.columns, nulls_distinct=not u.nulls_not_distinct, what="unique constraint"),
            *_index_build(ctx, s, t, "the unique constraint"),
        )
    return [Statement(f"{_alter(change)} ADD {unique_sql(u)}", hazards)]


def _drop(
    change: c.DropPrimaryKey | c.DropUnique | c.DropForeignKey | c.DropCheck, hazards: tuple[Hazard, ...] = ()
) -> list[Statement]:
    return [Statement(f"{_alter(change)} DROP CONSTRAINT {ident(change.name)}", hazards)]


@plan_change.register
def plan_drop_primary_key(change: c.DropPrimaryKey, ctx: PlanContext) -> list[Statement]:
    fact = f"drops the index behind primary key {change.name}: lookups by key on {_label(change.schema, change.table)} may slow down"
    return _drop(change, (Hazard(HazardKind.INDEX_DROPPED, fact),))


@plan_change.register
def plan_drop_unique(change: c.DropUnique, ctx: PlanContext) -> list[Statement]:
    fact = (
        f"drops the index behind {change.name}: queries using it on {_label(change.schema, change.table)} may slow down"
    )
    return _drop(change, (Hazard(HazardKind.INDEX_DROPPED, fact),))


@plan_change.register
def plan_drop_foreign_key(change: c.DropForeignKey, ctx: PlanContext) -> list[Statement]:
    if change.lost:
        return _drop(change, (Hazard(HazardKind.CORRECTNESS, change.lost),))
    return _drop(change)


@plan_change.register
def plan_drop_check(change: c.DropCheck, ctx: PlanContext) -> list[Statement]:
    if change.reason:
        fact = (
            f"drops check {change.name} on {_label(change.schema, change.table)} and adds it again later in this "
            f"transaction, checking every row ({change.reason})"
        )
        return _drop(change, (Hazard(HazardKind.CORRECTNESS, fact),))
    return _drop(change)


def foreign_key_sql(fk: ForeignKey) -> str:
    sql = (
        f"CONSTRAINT {ident(fk.name)} FOREIGN KEY ({idents(fk.columns)}) "
        f"REFERENCES {ident(fk.ref_schema, fk.ref_table)} ({idents(fk.ref_columns)})"
    )
    if fk.match_full:
        sql += " MATCH FULL"
    if fk.on_delete != "NO ACTION":
        sql += f" ON DELETE {fk.on_delete}"
    if fk.on_update != "NO ACTION":
        sql += f" ON UPDATE {fk.on_update}"
    return sql + deferrable_sql(fk.deferrable, fk.initially_deferred)


def _orphans(ctx: PlanContext, schema: str, table: str, fk: ForeignKey) -> Hazard:
    cols = [f"t.{ident(ctx.old_column(schema, table, col))}" for col in fk.columns]
    present = " AND ".join(f"{col} IS NOT NULL" for col in cols)
    target = ctx.before(fk.ref_schema, fk.ref_table)
    if target is None:  # the referenced table is created by this plan: it starts empty
        predicate = present
    else:
        ref_cols = [ctx.old_column(fk.ref_schema, fk.ref_table, col) for col in fk.ref_columns]
        match = " AND ".join(f"r.{ident(rc)} = {col}" for rc, col in zip(ref_cols, cols, strict=True))
        predicate = f"{present} AND NOT EXISTS (SELECT 1 FROM {ident(target.schema, target.name)} r WHERE {match})"  # noqa: S608 (identifiers quoted; catalog-rendered SQL)
    return Hazard(
        HazardKind.DATA_DEPENDENT,
        f"foreign key {fk.name} fails if rows of {_label(schema, table)} point at missing {_label(fk.ref_schema, fk.ref_table)} rows",
        probe=Probe(
            schema,
            ctx.renames.old_table(schema, table),
            "where",
            predicate=predicate,
            template=f"{_label(schema, table)} has {{count}} pointing at missing {_label(fk.ref_schema, fk.ref_table)} rows "
            f"(foreign key {fk.name}): fix or remove them first",
        ),
    )


def _validate(
    ctx: PlanContext, change: c.AddForeignKey | c.AddCheck, name: str, hazards: tuple[Hazard, ...]
) -> Statement:
    scan = ctx.locking(change.schema, change.table, "scans the table to validate the constraint")
    if ctx.concurrent_indexes:
        note = Hazard(
            HazardKind.CORRECTNESS,
            f"validates {name} after the transaction commits (reads and writes go on); if it fails, "
            "the constraint stays NOT VALID (still enforced for new rows) and the run fails",
        )
        return Statement(f"{_alter(change)} VALIDATE CONSTRAINT {ident(name)}", (*hazards, note), transactional=False)
    return Statement(f"{_alter(change)} VALIDATE CONSTRAINT {ident(name)}", (*hazards, *scan))


@plan_change.register
def plan_add_foreign_key(change: c.AddForeignKey, ctx: PlanContext) -> list[Statement]:
    fk = change.constraint
    if ctx.is_new(change.schema, change.table):
        return [Statement(f"{_alter(change)} ADD {foreign_key_sql(fk)}")]
    return [
        Statement(f"{_alter(change)} ADD {foreign_key_sql(fk)} NOT VALID"),
        _validate(ctx, change, fk.name, (_orphans(ctx, change.schema, change.table, fk),)),
    ]


def _violations(ctx: PlanContext, schema: str, table: str, name: str, expression: str) -> Hazard:
    return Hazard(
        HazardKind.DATA_DEPENDENT,
        f"check {name} fails if existing rows of {_label(schema, table)} violate it",
        probe=Probe(
            schema,
            ctx.renames.old_table(schema, table),
            "where",
            predicate=f"NOT {expression}",
            template=f"{_label(schema, table)} has {{count}} violating check {name}: fix them first",
        ),
    )


@plan_change.register
def plan_add_check(change: c.AddCheck, ctx: PlanContext) -> list[Statement]:
    k = change.constraint
    if ctx.is_new(change.schema, change.table):
        return [Statement(f"{_alter(change)} ADD {check_sql(k)}")]
    return [
        Statement(f"{_alter(change)} ADD {check_sql(k)} NOT VALID"),
        _validate(ctx, change, k.name, (_violations(ctx, change.schema, change.table, k.name, k.expression),)),
    ]


@plan_change.register
def plan_validate_constraint(change: c.ValidateConstraint, ctx: PlanContext) -> list[Statement]:
    s, t = change.schema, change.table
    before = ctx.before(s, t)
    hazards: list[Hazard] = []
    fk = next((f for f in before.foreign_keys if f.name == change.name), None) if before else None
    check = next((k for k in before.checks if k.name == change.name), None) if before else None
    if fk is not None:
        hazards.append(_orphans(ctx, s, t, fk))
    elif check is not None:
        hazards.append(_violations(ctx, s, t, check.name, check.expression))
    sql = f"{_alter(change)} VALIDATE CONSTRAINT {ident(change.name)}"
    if ctx.online:  # finishing what a failed online run left NOT VALID: again after the commit
        note = Hazard(
            HazardKind.CORRECTNESS,
            f"validates {change.name} after the transaction commits (reads and writes go on); if it fails, "
            "the constraint stays NOT VALID (still enforced for new rows) and the run fails",
        )
        return [Statement(sql, (*hazards, note), transactional=False)]
    hazards += ctx.locking(s, t, "scans the table to validate the constraint")
    return [Statement(sql, tuple(hazards))]


@plan_change.register
def plan_rename_constraint(change: c.RenameConstraint, ctx: PlanContext) -> list[Statement]:
    return [Statement(f"{_alter(change)} RENAME CONSTRAINT {ident(change.old)} TO {ident(change.new)}")]
