"""Planning COMMENT ON: every name and comment quoted here.

A comment is a literal (`plan/sql.py`): quotes, backslashes, `$$` and new lines in it stay text. A routine is
named by its argument types as PostgreSQL printed them, a trigger or policy with its table.
"""

from __future__ import annotations

from schemasync.diff import changes as c
from schemasync.plan.dispatch import PlanContext, plan_change
from schemasync.plan.model import Statement
from schemasync.plan.sql import ident, literal, raw


def comment_target(kind: str, schema: str, name: str, table: str = "", arguments: str = "") -> str:
    """What follows COMMENT ON: `FUNCTION "s"."f"(integer)`, `TRIGGER "t" ON "s"."tab"`, `VIEW "s"."v"`."""
    if kind in ("trigger", "policy"):
        return f"{kind.upper()} {ident(name)} ON {ident(schema, table)}"
    if kind in ("function", "procedure"):
        return f"{kind.upper()} {ident(schema, name)}({raw(arguments)})"
    return f"{kind.upper()} {ident(schema, name)}"


def comment_sql(change: c.AlterComment) -> str:
    """The COMMENT ON statement: also what `introspect` writes back as its DDL event."""
    target = comment_target(change.kind, change.schema, change.name, change.table, change.arguments)
    return f"COMMENT ON {target} IS {literal(change.comment)}"


@plan_change.register
def plan_alter_comment(change: c.AlterComment, ctx: PlanContext) -> list[Statement]:
    return [Statement(comment_sql(change))]
