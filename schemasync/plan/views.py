"""Planning view changes: CREATE [MATERIALIZED] VIEW with its indexes, CREATE OR REPLACE VIEW, DROP.

The definition is `pg_get_viewdef`'s text, rendered with an empty search path (every relation and
type schema-qualified), as pg_dump writes it: what the catalog printed, never user text. Creating a
materialized view runs its query and stores the rows (what REFRESH costs), inside the plan's
transaction, which by then may hold ACCESS EXCLUSIVE locks on the tables changed before it: said as
a LOCKING hazard with the sizes of the tables it reads. Views dropped to make way for a change and
re-created after it say so, by name, with a CORRECTNESS hazard: for the moment between, inside the
transaction, they do not exist, and a materialized view is re-filled.
"""

from __future__ import annotations

from dataclasses import replace

from schemasync.diff import changes as c
from schemasync.diff.views import other_dependents
from schemasync.plan.dispatch import PlanContext, plan_change
from schemasync.plan.hazards import Hazard, HazardKind
from schemasync.plan.indexes import index_sql
from schemasync.plan.model import Statement
from schemasync.plan.sql import ident, literal
from schemasync.schema.model import View
from schemasync.units import human_size


def _label(schema: str, name: str) -> str:
    return name if schema == "public" else f"{schema}.{name}"


def _options(view: View) -> str:
    """WITH (...) from the catalog's reloptions (`check_option=local` goes in WITH like the others)."""
    if not view.options:
        return ""
    parts = []
    for option in view.options:
        key, _, value = option.partition("=")
        parts.append(f"{ident(key)} = {literal(value)}")  # catalog text, quoted all the same
    return f" WITH ({', '.join(parts)})"


def view_sql(view: View, *, replace: bool = False) -> str:
    kind = "MATERIALIZED VIEW" if view.materialized else "VIEW"
    head = f"CREATE OR REPLACE {kind}" if replace else f"CREATE {kind}"
    body = view.definition.strip().rstrip(";").strip()
    sql = f"{head} {ident(view.schema, view.name)}{_options(view)} AS\n{body}"
    if view.materialized and not view.populated:
        sql += "\nWITH NO DATA"
    return sql


def _reads(view: View, ctx: PlanContext) -> str:
    """The tables a materialized view reads, with their sizes (from the database before the plan)."""
    uses = sorted(
        {(d.ref_schema, d.ref_name) for d in ctx.desired.dependencies if (d.schema, d.name) == view.key}
        | {(d.ref_schema, d.ref_name) for d in ctx.current.dependencies if (d.schema, d.name) == view.key}
    )
    parts = []
    for schema, name in uses:
        table = ctx.current.table(schema, name)
        if table is not None:
            parts.append(f"{_label(schema, name)} ({human_size(table.size_bytes)})")
        elif ctx.current.view(schema, name) is not None or ctx.desired.view(schema, name) is not None:
            parts.append(f"{_label(schema, name)} (a view)")
    return ", ".join(parts) if parts else "no existing table"


@plan_change.register
def plan_create_view(change: c.CreateView, ctx: PlanContext) -> list[Statement]:
    view = change.view
    hazards: list[Hazard] = []
    if change.reason:
        hazards.append(
            Hazard(
                HazardKind.CORRECTNESS,
                f"re-creates {view.kind} {_label(view.schema, view.name)} dropped earlier in this transaction "
                f"({change.reason})",
            )
        )
    if view.materialized and view.populated:
        hazards.append(
            Hazard(
                HazardKind.LOCKING,
                f"fills materialized view {_label(view.schema, view.name)} by running its query (the cost of a "
                f"REFRESH) inside the transaction, holding the locks taken before it; it reads {_reads(view, ctx)}",
            )
        )
    out = [Statement(view_sql(view), tuple(hazards))]
    out += [Statement(index_sql(view.schema, view.name, index)) for index in view.indexes]
    return out


@plan_change.register
def plan_replace_view(change: c.ReplaceView, ctx: PlanContext) -> list[Statement]:
    return [Statement(view_sql(change.view, replace=True))]


@plan_change.register
def plan_drop_view(change: c.DropView, ctx: PlanContext) -> list[Statement]:
    kind = "MATERIALIZED VIEW" if change.materialized else "VIEW"
    label = f"{'materialized view' if change.materialized else 'view'} {_label(change.schema, change.name)}"
    if change.reason and change.recreated:
        fact = f"drops {label} and re-creates it later in this transaction ({change.reason})"
    elif change.reason:
        fact = (
            f"drops {label} ({change.reason}): the models do not declare it and its definition names what is "
            "dropped, so it is not re-created; queries using it fail afterwards"
        )
    else:
        fact = f"drops {label}, which the models do not declare: queries using it fail afterwards"
    return [Statement(f"DROP {kind} {ident(change.schema, change.name)}", (Hazard(HazardKind.CORRECTNESS, fact),))]


def name_other_dependents(change: c.Change, statements: list[Statement], ctx: PlanContext) -> list[Statement]:
    """The change's first statement with a CORRECTNESS hazard naming each string-bodied function whose signature
    uses the row type of the table it alters: PostgreSQL lets the change through, the body is not checked."""
    if not statements or not isinstance(change, c.AlterColumnType | c.DropColumn | c.AlterColumnGenerated):
        return statements
    found = other_dependents(ctx.current, change)
    if not found:
        return statements
    names = ", ".join(f"{d.kind} {_label(d.schema, d.name)}" for d in found)
    table = _label(change.schema, change.table)
    hazard = Hazard(
        HazardKind.CORRECTNESS,
        f"{names} take{'s' if len(found) == 1 else ''} or return{'s' if len(found) == 1 else ''} the row type of "
        f"{table}: PostgreSQL does not check {'its' if len(found) == 1 else 'their'} string body against "
        f"{_relation(change)}'s change, so a body using it may fail when called afterwards; review "
        f"{'it' if len(found) == 1 else 'them'}",
    )
    first = statements[0]
    return [replace(first, hazards=(*first.hazards, hazard)), *statements[1:]]


def _relation(change: c.AlterColumnType | c.DropColumn | c.AlterColumnGenerated) -> str:
    column = (
        change.column.name
        if isinstance(change, c.AlterColumnGenerated)
        else (change.column if isinstance(change, c.AlterColumnType) else change.name)
    )
    return f"{_label(change.schema, change.table)}.{column}"
