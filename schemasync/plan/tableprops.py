"""Planning table properties: EXCLUDE constraints, SET LOGGED / UNLOGGED, storage parameters.

An exclusion constraint on an existing table builds its index under an ACCESS EXCLUSIVE lock and
fails when existing rows already conflict; the conflicts are not counted beforehand (that is a
self-join under the constraint's operators, quadratic without the index being built). SET LOGGED
and SET UNLOGGED rewrite the table. Storage parameters change in place (SHARE UPDATE EXCLUSIVE for
most) and apply to pages written afterwards; nothing is rewritten.

Option names and values come from the catalog (PostgreSQL validated them when the models were
materialised), but they are still quoted: a value always as a literal, a name as an identifier
unless it is a plain (optionally `toast.`-prefixed) lower-case word.
"""

from __future__ import annotations

import re

from schemasync.diff import changes as c
from schemasync.plan.dispatch import PlanContext, plan_change
from schemasync.plan.hazards import Hazard, HazardKind
from schemasync.plan.model import Statement
from schemasync.plan.sql import ident, literal
from schemasync.schema.model import ExclusionConstraint

_PLAIN_OPTION = re.compile(r"^(?:toast\.)?[a-z_][a-z0-9_]*$")


def _label(schema: str, table: str) -> str:
    return table if schema == "public" else f"{schema}.{table}"


def exclusion_sql(x: ExclusionConstraint) -> str:
    """The constraint as in CREATE TABLE or ADD: its name, then PostgreSQL's own rendering (from the catalog)."""
    return f"CONSTRAINT {ident(x.name)} {x.definition}"


def option_name(name: str) -> str:
    if _PLAIN_OPTION.match(name):
        return name
    return ".".join(ident(part) for part in name.split(".", 1))


def options_sql(options: tuple[str, ...]) -> str:
    """reloptions ("fillfactor=70") as a WITH / SET list: `fillfactor = '70'`."""
    pairs = (option.partition("=") for option in options)
    return ", ".join(f"{option_name(k)} = {literal(v)}" for k, _, v in pairs)


def reset_sql(names: tuple[str, ...]) -> str:
    return ", ".join(option_name(k) for k in names)


@plan_change.register
def plan_add_exclusion(change: c.AddExclusion, ctx: PlanContext) -> list[Statement]:
    s, t, x = change.schema, change.table, change.constraint
    sql = f"ALTER TABLE {ident(s, t)} ADD {exclusion_sql(x)}"
    if ctx.is_new(s, t):
        return [Statement(sql)]
    hazards: list[Hazard] = [
        Hazard(
            HazardKind.DATA_DEPENDENT,
            f"exclusion constraint {x.name} fails if existing rows of {_label(s, t)} conflict under it "
            "(not counted: remove the conflicting rows first)",
        )
    ]
    if ctx.big(s, t) or ctx.online:
        # An online plan promises no long lock; this one has no lock-light form, so it is said even when small.
        hazards += [
            Hazard(
                HazardKind.INDEX_BUILD,
                f"exclusion constraint {x.name} builds an index on {_label(s, t)} ({ctx.size_of(s, t)})",
            ),
            Hazard(
                HazardKind.LOCKING,
                f"blocks reads and writes to {_label(s, t)} (ACCESS EXCLUSIVE) while the index behind {x.name} "
                "builds: PostgreSQL has no online form for an exclusion constraint",
            ),
        ]
    return [Statement(sql, tuple(hazards))]


@plan_change.register
def plan_drop_exclusion(change: c.DropExclusion, ctx: PlanContext) -> list[Statement]:
    label = _label(change.schema, change.table)
    hazards = (
        Hazard(
            HazardKind.CORRECTNESS,
            f"drops exclusion constraint {change.name}: {label} accepts conflicting rows from then on",
        ),
        Hazard(
            HazardKind.INDEX_DROPPED, f"drops the index behind {change.name}: queries using it on {label} may slow down"
        ),
    )
    return [
        Statement(f"ALTER TABLE {ident(change.schema, change.table)} DROP CONSTRAINT {ident(change.name)}", hazards)
    ]


@plan_change.register
def plan_table_persistence(change: c.AlterTablePersistence, ctx: PlanContext) -> list[Statement]:
    s, t = change.schema, change.table
    what = "SET UNLOGGED" if change.unlogged else "SET LOGGED"
    hazards = list(ctx.rewriting(s, t, f"{what} rewrites the table and its indexes"))
    if change.unlogged:
        hazards.append(
            Hazard(
                HazardKind.CORRECTNESS,
                f"{_label(s, t)} becomes UNLOGGED: it is emptied after a crash and not copied to replicas",
            )
        )
    return [Statement(f"ALTER TABLE {ident(s, t)} {what}", tuple(hazards))]


@plan_change.register
def plan_table_options(change: c.AlterTableOptions, ctx: PlanContext) -> list[Statement]:
    out = []
    if change.set:
        out.append(Statement(f"ALTER TABLE {ident(change.schema, change.table)} SET ({options_sql(change.set)})"))
    if change.reset:
        out.append(Statement(f"ALTER TABLE {ident(change.schema, change.table)} RESET ({reset_sql(change.reset)})"))
    return out


@plan_change.register
def plan_index_options(change: c.AlterIndexOptions, ctx: PlanContext) -> list[Statement]:
    out = []
    if change.set:
        out.append(Statement(f"ALTER INDEX {ident(change.schema, change.index)} SET ({options_sql(change.set)})"))
    if change.reset:
        out.append(Statement(f"ALTER INDEX {ident(change.schema, change.index)} RESET ({reset_sql(change.reset)})"))
    return out
