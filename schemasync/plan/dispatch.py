"""The planning generic function and the context every renderer may read.

`plan_change(change, ctx)` returns the statements for one change; a module per object kind
registers its renderers with `@plan_change.register`. The context holds the database as it is
before the plan (for table sizes, row estimates and the names probes must use), the desired schema
(to tell a serial column from one using a declared sequence), and the planning choices.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from schemasync.diff.changes import Change
from schemasync.diff.renames import Renames
from schemasync.plan.hazards import LOCKING_MIN_BYTES, Hazard, HazardKind
from schemasync.plan.model import Statement
from schemasync.schema.model import Schema, Table
from schemasync.units import human_size


@dataclass(frozen=True, slots=True)
class PlanContext:
    current: Schema = field(default_factory=Schema)  # the database before the plan (names before renames)
    desired: Schema = field(default_factory=Schema)
    renames: Renames = field(default_factory=Renames)
    new_tables: frozenset[tuple[str, str]] = frozenset()  # created by this plan: empty, nothing to lock
    concurrent_indexes: bool = False
    online: bool = False  # lock-light forms where PostgreSQL has them (plan/online.py); implies concurrent_indexes

    def before(self, schema: str, table: str) -> Table | None:
        """The database's table that will bear this name once renames ran (None for a new table)."""
        if (schema, table) in self.new_tables:
            return None
        return self.current.table(schema, self.renames.old_table(schema, table))

    def old_column(self, schema: str, table: str, column: str) -> str:
        return self.renames.old_column(schema, table, column)

    def is_new(self, schema: str, table: str) -> bool:
        return self.before(schema, table) is None

    def size_of(self, schema: str, table: str) -> str:
        t = self.before(schema, table)
        if t is None:
            return "new table"
        estimate = f"about {t.row_estimate:,} rows" if t.row_estimate >= 0 else "row count unknown (never analysed)"
        return f"{human_size(t.size_bytes)}, {estimate}"

    def big(self, schema: str, table: str) -> bool:
        t = self.before(schema, table)
        return t is not None and t.size_bytes >= LOCKING_MIN_BYTES

    def locking(self, schema: str, table: str, what: str) -> tuple[Hazard, ...]:
        """A LOCKING hazard for `what` on an existing table big enough for it to matter."""
        if not self.big(schema, table):
            return ()
        return (Hazard(HazardKind.LOCKING, f"{what} on {_name(schema, table)} ({self.size_of(schema, table)})"),)

    def rewriting(self, schema: str, table: str, what: str, advice: str = "") -> tuple[Hazard, ...]:
        """A LOCKING hazard for a table rewrite, with the table's size and how long it may take. An online plan
        says it even for a small table: it promises no long lock, so the one it cannot avoid is never silent."""
        t = self.before(schema, table)
        if t is None or (not self.online and t.size_bytes < LOCKING_MIN_BYTES):
            return ()
        return (
            Hazard(
                HazardKind.LOCKING,
                f"{what} on {_name(schema, table)} ({self.size_of(schema, table)}); {rewrite_estimate(t.size_bytes)}"
                + (f"; {advice}" if advice else ""),
            ),
        )


# A rewrite copies every row and rebuilds every index: a cautious rate for that on SSD storage, applied to
# pg_total_relation_size (table, TOAST and indexes). Measure your own with bench/bench_online.py.
REWRITE_BYTES_PER_SECOND = 32 * 1024 * 1024


def rewrite_estimate(size_bytes: int) -> str:
    """How long a rewrite of `size_bytes` may hold its lock, said with the rate it was estimated from."""
    seconds = size_bytes / REWRITE_BYTES_PER_SECOND
    if seconds < 1:
        took = "under a second"
    elif seconds < 120:
        took = f"about {seconds:.0f} s"
    elif seconds < 7200:
        took = f"about {seconds / 60:.0f} min"
    else:
        took = f"about {seconds / 3600:.1f} h"
    return f"estimated {took} of blocked reads and writes (at {human_size(REWRITE_BYTES_PER_SECOND)}/s)"


def _name(schema: str, table: str) -> str:
    return table if schema == "public" else f"{schema}.{table}"


@functools.singledispatch
def plan_change(change: Change, ctx: PlanContext) -> list[Statement]:
    raise TypeError(f"no planner for {type(change).__name__}")
