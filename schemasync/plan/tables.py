"""Planning table changes: CREATE TABLE (columns, keys, checks, comments), DROP, RENAME, COMMENT."""

from __future__ import annotations

from schemasync.diff import changes as c
from schemasync.diff.names import SERIAL_TYPES, nextval_sequence
from schemasync.plan.dispatch import PlanContext, plan_change
from schemasync.plan.hazards import Hazard, HazardKind, Probe
from schemasync.plan.model import Statement
from schemasync.plan.sql import ident, idents, literal
from schemasync.plan.tableprops import exclusion_sql, options_sql
from schemasync.schema.model import (
    CheckConstraint,
    Column,
    IdentityOptions,
    PrimaryKey,
    Schema,
    Table,
    UniqueConstraint,
)


def is_serial(column: Column, desired: Schema) -> bool:
    """A default of nextval() on the column's own (undeclared) sequence: PostgreSQL's serial shorthand."""
    seq = nextval_sequence(column.default)
    return (
        seq is not None
        and column.type in SERIAL_TYPES
        and column.identity is None
        and all(s.key != seq for s in desired.sequences)
    )


def column_sql(column: Column, desired: Schema) -> str:
    """A column definition as in CREATE TABLE or ADD COLUMN."""
    serial = is_serial(column, desired)
    parts = [ident(column.name), SERIAL_TYPES[column.type] if serial else column.type]
    if column.collation:
        parts.append(f"COLLATE {column.collation}")
    if column.generated is not None:
        parts.append(f"GENERATED ALWAYS AS ({column.generated}) STORED")
    if column.identity is not None:
        options = identity_options_sql(column.identity_options)
        parts.append(f"GENERATED {column.identity.upper()} AS IDENTITY" + (f" ({options})" if options else ""))
    if column.default is not None and not serial:
        parts.append(f"DEFAULT {column.default}")
    if not column.nullable:
        parts.append("NOT NULL")
    return " ".join(parts)


def identity_options_sql(options: IdentityOptions | None) -> str:
    """The non-default sequence options of an identity, as in `AS IDENTITY (...)`; '' when all are defaults."""
    if options is None:
        return ""
    parts = []
    if options.start is not None:
        parts.append(f"START WITH {options.start}")
    if options.increment != 1:
        parts.append(f"INCREMENT BY {options.increment}")
    if options.min_value is not None:
        parts.append(f"MINVALUE {options.min_value}")
    if options.max_value is not None:
        parts.append(f"MAXVALUE {options.max_value}")
    if options.cache != 1:
        parts.append(f"CACHE {options.cache}")
    if options.cycle:
        parts.append("CYCLE")
    return " ".join(parts)


def identity_options_set(options: IdentityOptions | None) -> str:
    """Every option spelled out for `ALTER COLUMN ... SET ...`, so that defaults are restored too."""
    o = options or IdentityOptions()
    start = o.start if o.start is not None else (o.min_value or 1) if o.increment > 0 else (o.max_value or -1)
    return " ".join(
        [
            f"SET INCREMENT BY {o.increment}",
            f"SET MINVALUE {o.min_value}" if o.min_value is not None else "SET NO MINVALUE",
            f"SET MAXVALUE {o.max_value}" if o.max_value is not None else "SET NO MAXVALUE",
            f"SET START WITH {start}",
            f"SET CACHE {o.cache}",
            "SET CYCLE" if o.cycle else "SET NO CYCLE",
        ]
    )


def primary_key_sql(key: PrimaryKey) -> str:
    return f"CONSTRAINT {ident(key.name)} PRIMARY KEY ({idents(key.columns)})"


def unique_sql(u: UniqueConstraint) -> str:
    nulls = " NULLS NOT DISTINCT" if u.nulls_not_distinct else ""
    return f"CONSTRAINT {ident(u.name)} UNIQUE{nulls} ({idents(u.columns)}){deferrable_sql(u.deferrable, u.initially_deferred)}"


def check_sql(k: CheckConstraint) -> str:
    return f"CONSTRAINT {ident(k.name)} CHECK {k.expression}"


def deferrable_sql(deferrable: bool, initially_deferred: bool) -> str:
    if not deferrable:
        return ""
    return " DEFERRABLE INITIALLY DEFERRED" if initially_deferred else " DEFERRABLE"


def comment_statements(table: Table) -> list[Statement]:
    out = []
    if table.comment is not None:
        out.append(Statement(f"COMMENT ON TABLE {ident(table.schema, table.name)} IS {literal(table.comment)}"))
    for col in table.columns:
        if col.comment is not None:
            target = ident(table.schema, table.name, col.name)
            out.append(Statement(f"COMMENT ON COLUMN {target} IS {literal(col.comment)}"))
    return out


@plan_change.register
def plan_create_table(change: c.CreateTable, ctx: PlanContext) -> list[Statement]:
    t = change.table
    items = [column_sql(col, ctx.desired) for col in t.columns]
    if t.primary_key:
        items.append(primary_key_sql(t.primary_key))
    items += [unique_sql(u) for u in t.uniques]
    items += [check_sql(k) for k in t.checks]
    items += [exclusion_sql(x) for x in t.exclusions]
    body = ",\n    ".join(items)
    create = "CREATE UNLOGGED TABLE" if t.unlogged else "CREATE TABLE"
    options = f" WITH ({options_sql(t.options)})" if t.options else ""
    partition_by = f" PARTITION BY {t.partition_by}" if t.partition_by else ""
    sql = f"{create} {ident(t.schema, t.name)} (\n    {body}\n){partition_by}{options}"
    return [Statement(sql), *comment_statements(t)]


@plan_change.register
def plan_drop_table(change: c.DropTable, ctx: PlanContext) -> list[Statement]:
    name = change.name if change.schema == "public" else f"{change.schema}.{change.name}"
    probe = Probe(change.schema, change.name, "rows", template=f"drops table {name} and its {{count}}")
    return [
        Statement(
            f"DROP TABLE {ident(change.schema, change.name)}",
            (Hazard(HazardKind.DELETES_DATA, f"drops table {name} and all its rows", probe=probe),),
        )
    ]


@plan_change.register
def plan_rename_table(change: c.RenameTable, ctx: PlanContext) -> list[Statement]:
    fact = f"queries that still use the old name {change.old} fail once it is renamed to {change.new}"
    return [
        Statement(
            f"ALTER TABLE {ident(change.schema, change.old)} RENAME TO {ident(change.new)}",
            (Hazard(HazardKind.CORRECTNESS, fact),),
        )
    ]


@plan_change.register
def plan_table_comment(change: c.AlterTableComment, ctx: PlanContext) -> list[Statement]:
    return [Statement(f"COMMENT ON TABLE {ident(change.schema, change.table)} IS {literal(change.comment)}")]
