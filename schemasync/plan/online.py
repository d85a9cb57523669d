"""Online forms of the changes that would otherwise hold a long lock on a busy table (`online = true`).

Each form keeps in the one transaction only what takes a lock briefly, and runs the long part after
COMMIT as its own statement, under a lock that lets reads and writes go on, with its own lock_timeout
and retries (apply.py):

- SET NOT NULL: `CHECK (col IS NOT NULL) NOT VALID` in the transaction; after it, VALIDATE (a scan under
  SHARE UPDATE EXCLUSIVE), SET NOT NULL (PostgreSQL 12+ trusts the validated check and skips its own scan
  under ACCESS EXCLUSIVE), then the helper check is dropped;
- a changed (or invalid) index: the new one is built CONCURRENTLY under a temporary name, then the old one
  is dropped CONCURRENTLY and the new one renamed: the table is never without the index;
- new indexes, foreign keys and checks on existing tables: as with `concurrent_indexes` (indexes.py,
  constraints.py).

Progress is recorded by the catalog itself: the helper check's `convalidated`, the temporary index and its
`indisvalid`. A run that fails part-way leaves them; the next plan (made from the inspected database) sees
them and starts where the failed run stopped: it validates a NOT VALID helper instead of adding it again,
reuses a valid replacement index or drops an invalid one before building it again.
"""

from __future__ import annotations

from schemasync.diff import changes as c
from schemasync.diff.expressions import same_index
from schemasync.diff.names import not_null_helper, rebuild_name
from schemasync.plan.dispatch import PlanContext
from schemasync.plan.hazards import Hazard, HazardKind
from schemasync.plan.model import Statement
from schemasync.plan.sql import ident
from schemasync.schema.model import CheckConstraint, Index

NOT_NULL_WITHOUT_SCAN = 120000  # server_version_num from which SET NOT NULL trusts a validated check


def _label(schema: str, table: str) -> str:
    return table if schema == "public" else f"{schema}.{table}"


def _after(what: str) -> Hazard:
    return Hazard(HazardKind.CORRECTNESS, f"runs after the transaction commits: {what}")


def not_null_helper_of(ctx: PlanContext, change: c.AlterColumnNullability) -> CheckConstraint | None:
    """The helper check a failed online run left on this column, if any (named after the column)."""
    before = ctx.before(change.schema, change.table)
    if before is None:
        return None
    names = {
        not_null_helper(change.column),
        not_null_helper(ctx.old_column(change.schema, change.table, change.column)),
    }
    return next((k for k in before.checks if k.name in names), None)


def set_not_null(
    ctx: PlanContext, change: c.AlterColumnNullability, nulls: Hazard, helper: CheckConstraint | None
) -> list[Statement]:
    """NOT NULL through a validated helper check; resumes from the helper a failed run left."""
    s, t, col = change.schema, change.table, change.column
    table = f"ALTER TABLE {ident(s, t)}"
    name = helper.name if helper is not None else not_null_helper(col)
    label = f"{_label(s, t)}.{col}"
    out: list[Statement] = []
    if helper is None:
        note = Hazard(
            HazardKind.CORRECTNESS,
            f"from here on new rows with NULL in {label} are refused (helper check {name}, NOT VALID); "
            "the existing rows are checked after the transaction",
        )
        out.append(
            Statement(f"{table} ADD CONSTRAINT {ident(name)} CHECK ({ident(col)} IS NOT NULL) NOT VALID", (note,))
        )
    if helper is None or not helper.validated:
        scan = _after(
            f"scans {_label(s, t)} for NULLs under SHARE UPDATE EXCLUSIVE (reads and writes go on); if it fails, "
            "the helper check stays NOT VALID and the next sync resumes from it"
        )
        out.append(Statement(f"{table} VALIDATE CONSTRAINT {ident(name)}", (nulls, scan), transactional=False))
    brief: tuple[Hazard, ...] = (
        _after("the validated check spares SET NOT NULL its scan, so its ACCESS EXCLUSIVE lock is brief"),
    )
    if 0 < ctx.current.server_version < NOT_NULL_WITHOUT_SCAN:
        brief = ctx.rewriting(s, t, "before PostgreSQL 12, SET NOT NULL scans the table under ACCESS EXCLUSIVE")
    out += [
        Statement(f"{table} ALTER COLUMN {ident(col)} SET NOT NULL", brief, transactional=False),
        Statement(f"{table} DROP CONSTRAINT IF EXISTS {ident(name)}", transactional=False),
    ]
    return out


def is_rebuild(ctx: PlanContext, schema: str, table: str, name: str) -> bool:
    """The index exists and the models still declare it: the diff drops it only to build it anew."""
    before, wanted = ctx.before(schema, table), ctx.desired.table(schema, table)
    return (
        before is not None
        and wanted is not None
        and any(i.name == name for i in before.indexes)
        and any(i.name == name for i in wanted.indexes)
    )


def rebuild_index(ctx: PlanContext, change: c.CreateIndex, build: str, hazards: tuple[Hazard, ...]) -> list[Statement]:
    """Build the replacement CONCURRENTLY under a temporary name, then swap it in. `build` renders the
    CREATE INDEX CONCURRENTLY statement for an index of the given name."""
    s, t, index = change.schema, change.table, change.index
    temporary = rebuild_name(index.name)
    before = ctx.before(s, t)
    wanted = ctx.desired.table(s, t)
    assert before is not None and wanted is not None
    left: Index | None = next((i for i in before.indexes if i.name == temporary), None)
    out: list[Statement] = []
    reusable = left is not None and left.valid and same_index(left, before, index, wanted)
    if left is not None and not reusable:
        out.append(
            Statement(
                f"DROP INDEX CONCURRENTLY IF EXISTS {ident(s, temporary)}",
                (_after(f"drops {temporary}, an unfinished replacement a failed run left"),),
                transactional=False,
            )
        )
    if not reusable:
        note = _after(
            f"builds the new {index.name} as {temporary} without blocking writes; if it fails, the next sync "
            "drops the unfinished copy and builds it again"
        )
        out.append(
            Statement(
                build,
                (*hazards, note),
                transactional=False,
                undo=f"DROP INDEX CONCURRENTLY IF EXISTS {ident(s, temporary)}",
            )
        )
    swap = _after(f"the old {index.name} is dropped CONCURRENTLY only once its replacement is built")
    out += [
        Statement(f"DROP INDEX CONCURRENTLY IF EXISTS {ident(s, index.name)}", (swap,), transactional=False),
        Statement(f"ALTER INDEX {ident(s, temporary)} RENAME TO {ident(index.name)}", transactional=False),
    ]
    return out
