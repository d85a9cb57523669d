"""Planning schema, enum type and sequence changes.

Recreating an enum (labels removed or reordered) is the one multi-step change: rename the old type
aside, create the new one, and for each column using it drop its default, recast through text, and
set the default again; then drop the old type. Every step is in the transaction, so a row holding a
removed label makes the recast fail and nothing changes. Those rows are counted beforehand.
"""

from __future__ import annotations

from schemasync.diff import changes as c
from schemasync.plan.dispatch import PlanContext, plan_change
from schemasync.plan.hazards import Hazard, HazardKind, Probe
from schemasync.plan.model import Statement
from schemasync.plan.sql import ident, literal
from schemasync.schema.model import Sequence


def _label(schema: str, name: str) -> str:
    return name if schema == "public" else f"{schema}.{name}"


@plan_change.register
def plan_create_schema(change: c.CreateSchema, ctx: PlanContext) -> list[Statement]:
    return [Statement(f"CREATE SCHEMA {ident(change.name)}")]


def _labels(labels: tuple[str, ...]) -> str:
    return ", ".join(literal(x) for x in labels)


@plan_change.register
def plan_create_enum(change: c.CreateEnum, ctx: PlanContext) -> list[Statement]:
    e = change.enum
    out = [Statement(f"CREATE TYPE {ident(e.schema, e.name)} AS ENUM ({_labels(e.labels)})")]
    if e.comment is not None:
        out.append(Statement(f"COMMENT ON TYPE {ident(e.schema, e.name)} IS {literal(e.comment)}"))
    return out


@plan_change.register
def plan_add_enum_value(change: c.AddEnumValue, ctx: PlanContext) -> list[Statement]:
    sql = f"ALTER TYPE {ident(change.schema, change.name)} ADD VALUE IF NOT EXISTS {literal(change.label)}"
    if change.before is not None:
        sql += f" BEFORE {literal(change.before)}"
    elif change.after is not None:
        sql += f" AFTER {literal(change.after)}"
    return [Statement(sql)]


def old_type_name(name: str) -> str:
    return (name[:55] + "__old")[:63]


@plan_change.register
def plan_recreate_enum(change: c.RecreateEnum, ctx: PlanContext) -> list[Statement]:
    e = change.enum
    new_type = ident(e.schema, e.name)
    old_type = ident(e.schema, old_type_name(e.name))
    removed = tuple(x for x in change.old_labels if x not in e.labels)
    out = [
        Statement(f"ALTER TYPE {new_type} RENAME TO {ident(old_type_name(e.name))}"),
        Statement(f"CREATE TYPE {new_type} AS ENUM ({_labels(e.labels)})"),
    ]
    for use in change.columns:
        table = ident(use.schema, use.table)
        col = ident(use.column)
        hazards: list[Hazard] = list(
            ctx.locking(use.schema, use.table, "rewrites the table under an ACCESS EXCLUSIVE lock")
        )
        if removed:
            old_col = f"t.{ident(ctx.old_column(use.schema, use.table, use.column))}"
            test = (
                f"{old_col}::text[] && ARRAY[{_labels(removed)}]::text[]"
                if use.array
                else f"{old_col}::text IN ({_labels(removed)})"
            )
            where = _label(use.schema, use.table)
            hazards.append(
                Hazard(
                    HazardKind.DATA_DEPENDENT,
                    f"recasting {where}.{use.column} fails if rows hold a removed label ({', '.join(removed)})",
                    probe=Probe(
                        use.schema,
                        ctx.renames.old_table(use.schema, use.table),
                        "where",
                        predicate=test,
                        template=f"{where} has {{count}} holding a removed label of {_label(e.schema, e.name)} in "
                        f"{use.column}: update them to a remaining label first",
                    ),
                )
            )
        suffix = "[]" if use.array else ""
        out += [
            Statement(f"ALTER TABLE {table} ALTER COLUMN {col} DROP DEFAULT"),
            Statement(
                f"ALTER TABLE {table} ALTER COLUMN {col} TYPE {new_type}{suffix} "
                f"USING {col}::text{suffix}::{new_type}{suffix}",
                tuple(hazards),
            ),
        ]
        if use.default is not None:
            out.append(Statement(f"ALTER TABLE {table} ALTER COLUMN {col} SET DEFAULT {use.default}"))
    out.append(Statement(f"DROP TYPE {old_type}"))
    if e.comment is not None:
        out.append(Statement(f"COMMENT ON TYPE {new_type} IS {literal(e.comment)}"))
    return out


@plan_change.register
def plan_enum_comment(change: c.AlterEnumComment, ctx: PlanContext) -> list[Statement]:
    return [Statement(f"COMMENT ON TYPE {ident(change.schema, change.name)} IS {literal(change.comment)}")]


@plan_change.register
def plan_drop_enum(change: c.DropEnum, ctx: PlanContext) -> list[Statement]:
    return [Statement(f"DROP TYPE {ident(change.schema, change.name)}")]


def _options(seq: Sequence, old: Sequence | None = None) -> list[str]:
    """Sequence options, all of them for CREATE, only the changed ones for ALTER."""

    def changed(field: str) -> bool:
        return old is None or getattr(old, field) != getattr(seq, field)

    parts = []
    if changed("data_type"):
        parts.append(f"AS {seq.data_type}")
    if changed("increment"):
        parts.append(f"INCREMENT BY {int(seq.increment)}")
    if changed("min_value"):
        parts.append("NO MINVALUE" if seq.min_value is None else f"MINVALUE {int(seq.min_value)}")
    if changed("max_value"):
        parts.append("NO MAXVALUE" if seq.max_value is None else f"MAXVALUE {int(seq.max_value)}")
    if changed("start"):
        parts.append(f"START WITH {int(seq.start)}")
    if changed("cache"):
        parts.append(f"CACHE {int(seq.cache)}")
    if changed("cycle"):
        parts.append("CYCLE" if seq.cycle else "NO CYCLE")
    if old is not None and changed("owned_by"):
        if seq.owned_by is None:
            parts.append("OWNED BY NONE")
        else:
            table, _, column = seq.owned_by.rpartition(".")
            parts.append(f"OWNED BY {ident(seq.schema, table, column)}")
    return parts


@plan_change.register
def plan_create_sequence(change: c.CreateSequence, ctx: PlanContext) -> list[Statement]:
    q = change.sequence
    return [Statement(" ".join([f"CREATE SEQUENCE {ident(q.schema, q.name)}", *_options(q)]))]


@plan_change.register
def plan_alter_sequence(change: c.AlterSequence, ctx: PlanContext) -> list[Statement]:
    q = change.new
    return [Statement(" ".join([f"ALTER SEQUENCE {ident(q.schema, q.name)}", *_options(q, change.old)]))]


@plan_change.register
def plan_rename_sequence(change: c.RenameSequence, ctx: PlanContext) -> list[Statement]:
    return [Statement(f"ALTER SEQUENCE {ident(change.schema, change.old)} RENAME TO {ident(change.new)}")]


@plan_change.register
def plan_drop_sequence(change: c.DropSequence, ctx: PlanContext) -> list[Statement]:
    fact = f"drops sequence {_label(change.schema, change.name)}: its current position is lost"
    return [Statement(f"DROP SEQUENCE {ident(change.schema, change.name)}", (Hazard(HazardKind.CORRECTNESS, fact),))]
