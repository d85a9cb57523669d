"""Whether a plan's one transaction fits the server's lock table, checked before anything runs.

Every relation a transaction creates, alters or drops stays locked until COMMIT: a new table with a
serial key and a text column holds five (the table, its key index, its sequence, its TOAST table and
TOAST index), an altered table holds itself and whatever indexes the statement rebuilds. PostgreSQL's
lock table holds about max_locks_per_transaction x server processes objects for all sessions together
(`db.LockTable`); a transaction that needs more fails part-way with "out of shared memory". The
transaction is rolled back then, so nothing is half-applied, but only after minutes of work and with a
message that says little. So the executor estimates the plan's locks from the schema values (an upper
bound: every table counted with its indexes, sequences and TOAST relations) and refuses, before taking
a backup or running a statement, a plan that cannot fit; the message names both ways out.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from schemasync import db
from schemasync.diff import Diff
from schemasync.diff import changes as c
from schemasync.errors import Refused
from schemasync.plan.policy import TOO_MANY_LOCKS
from schemasync.schema.model import Schema, Table

# The transaction's own: catalogs its checks read beyond the 16 fast-path slots, schema_versions, schema_snapshots.
OVERHEAD = 40


class PlanTooBig(Refused):
    """The plan needs more locks in one transaction than the server's lock table holds."""

    code = TOO_MANY_LOCKS.code


@dataclass(frozen=True, slots=True)
class LockEstimate:
    locks: int
    tables: int  # tables the transaction creates, alters or drops


def relations(table: Table) -> int:
    """The relations locking `table` locks too: itself, TOAST table and index, indexes, owned sequences."""
    sequences = sum(1 for col in table.columns if col.identity or (col.default or "").startswith("nextval("))
    keys = (1 if table.primary_key else 0) + len(table.uniques)
    return 3 + keys + len(table.indexes) + sequences


def estimate(diff: Diff, current: Schema, desired: Schema) -> LockEstimate:
    """An upper bound of the locks the plan of `diff` holds at COMMIT."""
    now = {t.key: t for t in current.tables}
    wanted = {t.key: t for t in desired.tables}
    touched: set[tuple[str, str]] = set()
    other = 0
    for change in diff.changes:
        match change:
            case c.CreateTable(table=table):
                touched.add(table.key)
            case c.DropTable(schema=schema, name=name):
                touched.add((schema, name))
            case c.RenameTable(schema=schema, old=old):
                touched.add((schema, old))
            case c.AddForeignKey(schema=schema, table=table, constraint=fk):
                touched.update({(schema, table), (fk.ref_schema, fk.ref_table)})
            case c.RecreateEnum(columns=uses):
                other += 1
                touched.update((u.schema, u.table) for u in uses)
            case _:
                # not `schema`/`table`: the patterns above bind those names to str and Table | str
                owner, relation = getattr(change, "schema", None), getattr(change, "table", None)
                if isinstance(owner, str) and isinstance(relation, str):
                    touched.add((owner, relation))
                else:
                    other += 1  # an enum, a sequence, a schema: one object each
    locks = OVERHEAD + other
    for key in touched:
        shape = now.get(key) or wanted.get(key)
        locks += relations(shape) if shape is not None else 5
    return LockEstimate(locks, len(touched))


def refuse_oversized(conn: psycopg.Connection, diff: Diff, current: Schema, desired: Schema) -> LockEstimate:
    """Raise PlanTooBig when the plan cannot fit the server's lock table; the estimate otherwise."""
    found = estimate(diff, current, desired)
    table = db.lock_table(conn)
    if found.locks > table.capacity:
        raise PlanTooBig(
            f"The plan changes {found.tables:,} tables in one transaction and needs about {found.locks:,} locks, "
            f"more than the server's lock table holds for all sessions together: {table.describe()}. PostgreSQL "
            "would stop it part-way with 'out of shared memory'; nothing was changed.",
            f"Raise max_locks_per_transaction to at least {table.setting_for(found.locks)} in postgresql.conf (a "
            "restart is needed), or split the change: sync part of the tables at a time with "
            "SCHEMASYNC_INCLUDE_TABLES (globs such as 'orders_*'), then the rest.",
        )
    return found


OUT_OF_LOCKS_HINT = (
    "Raise max_locks_per_transaction in postgresql.conf (a restart is needed), or split the change: sync part of "
    "the tables at a time with SCHEMASYNC_INCLUDE_TABLES (globs such as 'orders_*'), or run it when fewer sessions "
    "hold locks."
)
