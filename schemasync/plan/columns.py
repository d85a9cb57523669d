"""Planning column changes: ADD / DROP / RENAME COLUMN and ALTER COLUMN, with their hazards.

Adding a column with a constant (or stable, like now()) default is instant since PostgreSQL 11; a
volatile default, an identity, a serial or a generated column rewrites the table. SET NOT NULL scans
the table under an ACCESS EXCLUSIVE lock and fails on the first NULL: the rows with NULL are counted
beforehand. Nothing here ever proposes emptying a table to make a change pass.
"""

from __future__ import annotations

import re

from schemasync.diff import changes as c
from schemasync.plan import online
from schemasync.plan.casts import classify
from schemasync.plan.dispatch import PlanContext, plan_change
from schemasync.plan.hazards import Hazard, HazardKind, Probe
from schemasync.plan.model import Statement
from schemasync.plan.sql import ident, literal
from schemasync.plan.tables import column_sql, identity_options_set, identity_options_sql, is_serial

_VOLATILE = re.compile(
    r"\b(nextval|random|gen_random_uuid|uuid_generate_v[14]|clock_timestamp|timeofday|txid_current|setseed)\s*\(",
    re.IGNORECASE,
)


def _alter(change: c.AlterColumnType | c.AlterColumnNullability | c.AlterColumnDefault | c.AlterColumnIdentity) -> str:
    return f"ALTER TABLE {ident(change.schema, change.table)} ALTER COLUMN {ident(change.column)}"


def _label(schema: str, table: str, column: str = "") -> str:
    base = table if schema == "public" else f"{schema}.{table}"
    return f"{base}.{column}" if column else base


@plan_change.register
def plan_add_column(change: c.AddColumn, ctx: PlanContext) -> list[Statement]:
    col, s, t = change.column, change.schema, change.table
    hazards: list[Hazard] = []
    rewrites = (
        col.identity is not None
        or col.generated is not None
        or is_serial(col, ctx.desired)
        or bool(col.default and _VOLATILE.search(col.default))
    )
    if rewrites:
        hazards += ctx.rewriting(s, t, "adding the column rewrites every row under an ACCESS EXCLUSIVE lock")
    fills = col.default is not None or col.identity is not None or col.generated is not None
    if not col.nullable and not fills and not ctx.is_new(s, t):
        before = ctx.renames.old_table(s, t)
        hazards.append(
            Hazard(
                HazardKind.DATA_DEPENDENT,
                f"adding NOT NULL column {_label(s, t, col.name)} without a default fails if the table has rows",
                probe=Probe(
                    s,
                    before,
                    "rows",
                    template=f"{_label(s, t)} has {{count}}: a NOT NULL column without a default cannot be added "
                    "to a table with rows (give it a server_default, or add it nullable, fill it, then make it NOT NULL)",
                ),
            )
        )
    statements = [Statement(f"ALTER TABLE {ident(s, t)} ADD COLUMN {column_sql(col, ctx.desired)}", tuple(hazards))]
    if col.comment is not None:
        statements.append(Statement(f"COMMENT ON COLUMN {ident(s, t, col.name)} IS {literal(col.comment)}"))
    return statements


@plan_change.register
def plan_drop_column(change: c.DropColumn, ctx: PlanContext) -> list[Statement]:
    s, t, name = change.schema, change.table, change.name
    label = _label(s, t, name)
    probe = Probe(
        s,
        ctx.renames.old_table(s, t),
        "where",
        predicate=f"t.{ident(ctx.old_column(s, t, name))} IS NOT NULL",
        template=f"drops column {label} and its values in {{count}}",
    )
    return [
        Statement(
            f"ALTER TABLE {ident(s, t)} DROP COLUMN {ident(name)}",
            (Hazard(HazardKind.DELETES_DATA, f"drops column {label} and its values", probe=probe),),
        )
    ]


@plan_change.register
def plan_rename_column(change: c.RenameColumn, ctx: PlanContext) -> list[Statement]:
    fact = f"queries that still use {_label(change.schema, change.table, change.old)} fail once it is renamed"
    return [
        Statement(
            f"ALTER TABLE {ident(change.schema, change.table)} RENAME COLUMN {ident(change.old)} TO {ident(change.new)}",
            (Hazard(HazardKind.CORRECTNESS, fact),),
        )
    ]


@plan_change.register
def plan_column_type(change: c.AlterColumnType, ctx: PlanContext) -> list[Statement]:
    s, t, name = change.schema, change.table, change.column
    cast = classify(ident(name), change.old_type, change.new_type, ctx.desired, ctx.current.server_version)
    rewrite = cast.rewrite or change.collation != change.old_collation
    hazards: list[Hazard] = []
    label = _label(s, t, name)
    if cast.lossy:
        hazards.append(
            Hazard(HazardKind.DELETES_DATA, f"{change.old_type} -> {change.new_type} on {label} {cast.lossy}")
        )
    if cast.can_fail:
        fact = f"{change.old_type} -> {change.new_type} on {label} fails on {cast.why}"
        probe = None
        if cast.fail_predicate is not None:
            old_col = f"t.{ident(ctx.old_column(s, t, name))}"
            before = classify(old_col, change.old_type, change.new_type, ctx.desired, ctx.current.server_version)
            probe = Probe(
                s,
                ctx.renames.old_table(s, t),
                "where",
                predicate=before.fail_predicate or "false",
                template=f"{_label(s, t)} has {{count}} with {cast.why} in {name} (for {change.new_type})",
            )
        else:
            fact += " (not counted: no way to test this conversion without running it)"
        hazards.append(Hazard(HazardKind.DATA_DEPENDENT, fact, probe=probe))
    if rewrite:
        hazards += ctx.rewriting(
            s,
            t,
            f"{change.old_type} -> {change.new_type} rewrites the table and rebuilds its indexes under an "
            "ACCESS EXCLUSIVE lock",
            "the README's expand/contract path (online plans) avoids the long lock",
        )
    sql = f"{_alter(change)} TYPE {change.new_type}"
    if change.collation:
        sql += f" COLLATE {change.collation}"
    if cast.using:
        sql += f" USING {cast.using}"
    return [Statement(sql, tuple(hazards))]


@plan_change.register
def plan_column_nullability(change: c.AlterColumnNullability, ctx: PlanContext) -> list[Statement]:
    if change.nullable:
        return [Statement(f"{_alter(change)} DROP NOT NULL")]
    s, t, name = change.schema, change.table, change.column
    if ctx.is_new(s, t):
        return [Statement(f"{_alter(change)} SET NOT NULL")]
    nulls = Hazard(
        HazardKind.DATA_DEPENDENT,
        f"SET NOT NULL on {_label(s, t, name)} fails if any row holds NULL",
        probe=Probe(
            s,
            ctx.renames.old_table(s, t),
            "where",
            predicate=f"t.{ident(ctx.old_column(s, t, name))} IS NULL",
            template=f"{_label(s, t)} has {{count}} with NULL in {name}: fill them before it can be NOT NULL",
        ),
    )
    helper = online.not_null_helper_of(ctx, change)
    if ctx.online:
        return online.set_not_null(ctx, change, nulls, helper)
    hazards = (nulls, *ctx.locking(s, t, "scans the whole table under an ACCESS EXCLUSIVE lock"))
    out = [Statement(f"{_alter(change)} SET NOT NULL", hazards)]
    if helper is not None:  # left by an online run that failed: once the column is NOT NULL it has no use
        out.append(Statement(f"ALTER TABLE {ident(s, t)} DROP CONSTRAINT IF EXISTS {ident(helper.name)}"))
    return out


def _sequence_at_max(change: c.AlterColumnDefault | c.AlterColumnIdentity, sequence: str) -> Statement:
    """Start a (new) sequence after the values the column already holds, so inserts do not collide."""
    col = ident(change.column)
    return Statement(
        f"SELECT setval({sequence}, COALESCE(max({col}), 0) + 1, false) FROM {ident(change.schema, change.table)}"  # noqa: S608 (identifiers quoted; catalog-rendered SQL)
    )


@plan_change.register
def plan_column_default(change: c.AlterColumnDefault, ctx: PlanContext) -> list[Statement]:
    if change.reason:
        label = _label(change.schema, change.table, change.column)
        if change.default is None:
            fact = f"takes the default of {label} off ({change.reason})"
            return [Statement(f"{_alter(change)} DROP DEFAULT", (Hazard(HazardKind.CORRECTNESS, fact),))]
        return [Statement(f"{_alter(change)} SET DEFAULT {change.default}")]
    if change.default is None:
        out = [Statement(f"{_alter(change)} DROP DEFAULT")]
        if change.drop_sequence:
            out.append(Statement(f"DROP SEQUENCE IF EXISTS {ident(*change.drop_sequence)}"))
        return out
    out = []
    if change.create_sequence:
        seq = ident(*change.create_sequence)
        owner = ident(change.schema, change.table, change.column)
        out += [
            Statement(f"CREATE SEQUENCE IF NOT EXISTS {seq} OWNED BY {owner}"),
            _sequence_at_max(change, literal(seq) + "::regclass"),
        ]
    out.append(Statement(f"{_alter(change)} SET DEFAULT {change.default}"))
    return out


@plan_change.register
def plan_column_identity(change: c.AlterColumnIdentity, ctx: PlanContext) -> list[Statement]:
    if change.identity is None:
        return [Statement(f"{_alter(change)} DROP IDENTITY")]
    kind = change.identity.upper()
    if change.old_identity is not None:
        clauses = []
        if change.identity != change.old_identity:
            clauses.append(f"SET GENERATED {kind}")
        if change.options != change.old_options:
            clauses.append(identity_options_set(change.options))  # RESTART is not implied: values stay unique
        return [Statement(f"{_alter(change)} {' '.join(clauses)}")]
    table = ident(change.schema, change.table)
    sequence = f"pg_get_serial_sequence({literal(table)}, {literal(change.column)})"
    options = identity_options_sql(change.options)
    add = f"{_alter(change)} ADD GENERATED {kind} AS IDENTITY" + (f" ({options})" if options else "")
    return [Statement(add), _sequence_at_max(change, sequence)]


@plan_change.register
def plan_column_generated(change: c.AlterColumnGenerated, ctx: PlanContext) -> list[Statement]:
    s, t, col = change.schema, change.table, change.column
    if col.generated is None:
        return [Statement(f"ALTER TABLE {ident(s, t)} ALTER COLUMN {ident(col.name)} DROP EXPRESSION")]
    hazards: list[Hazard] = list(ctx.rewriting(s, t, "rewrites every row under an ACCESS EXCLUSIVE lock"))
    if change.old_generated is None:
        hazards.append(
            Hazard(
                HazardKind.DELETES_DATA,
                f"{_label(s, t, col.name)} becomes generated: its stored values are replaced by computed ones",
            )
        )
    out = [
        Statement(f"ALTER TABLE {ident(s, t)} DROP COLUMN {ident(col.name)}", tuple(hazards)),
        Statement(f"ALTER TABLE {ident(s, t)} ADD COLUMN {column_sql(col, ctx.desired)}"),
    ]
    if col.comment is not None:
        out.append(Statement(f"COMMENT ON COLUMN {ident(s, t, col.name)} IS {literal(col.comment)}"))
    return out


@plan_change.register
def plan_column_comment(change: c.AlterColumnComment, ctx: PlanContext) -> list[Statement]:
    target = ident(change.schema, change.table, change.column)
    return [Statement(f"COMMENT ON COLUMN {target} IS {literal(change.comment)}")]
