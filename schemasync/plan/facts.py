"""Counting the rows behind hazards: every probe of a plan, in a bounded number of queries.

All probes on tables small enough to scan are answered by one UNION ALL statement. A probe on a
table over `EXACT_MAX_TABLE_BYTES` (or past the total scan budget) is `EXPLAIN`ed first (one cheap
query): when the planner expects the count to cost no more than scanning a table of that size, an
index answers it (the NULLs of an indexed column, the out-of-range values of an indexed key) and it
is counted exactly all the same. Otherwise a "rows" probe uses the planner's row estimate, a "where"
probe the planner's estimate for its predicate, and a "duplicates" probe says it was not counted.
Each fact says which it is. Everything runs read-only in a transaction that is rolled back. If the
combined query fails (a predicate naming a column the plan has yet to add), each probe is retried on
its own in a savepoint so one bad probe costs only its own count.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any

import psycopg

from schemasync.plan.hazards import Hazard, Probe, rows
from schemasync.plan.model import Plan
from schemasync.plan.sql import ident
from schemasync.schema.model import Schema
from schemasync.units import human_size

log = logging.getLogger(__name__)

EXACT_MAX_TABLE_BYTES = 64 * 1024 * 1024
EXACT_BUDGET_BYTES = 256 * 1024 * 1024
# What the planner charges, with its default costs, for a sequential count of EXACT_MAX_TABLE_BYTES
# of rows about 64 bytes wide: 8,192 pages at 1.0 and a million rows at 0.01 + 0.0025. A probe on a
# bigger table whose plan costs no more than this is read through an index: counted exactly.
EXACT_MAX_COST = 8192 * 1.0 + 1_000_000 * 0.0125


def probe_sql(probe: Probe) -> str:
    table = f"{ident(probe.schema, probe.table)} t"
    if probe.kind == "rows":
        return f"SELECT count(*) FROM {table}"  # noqa: S608 (identifiers quoted; catalog-rendered SQL)
    if probe.kind == "where":
        return f"SELECT count(*) FROM {table} WHERE {probe.predicate}"  # noqa: S608 (identifiers quoted; catalog-rendered SQL)
    groups = ", ".join(probe.columns)
    return (
        f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {probe.predicate} GROUP BY {groups} HAVING count(*) > 1) d"  # noqa: S608 (identifiers quoted; catalog-rendered SQL)
    )


def _counted(probe: Probe, n: int, *, estimated: bool = False) -> str:
    amount = f"{n:,} repeated value" + ("" if n == 1 else "s") if probe.kind == "duplicates" else rows(n)
    if estimated:
        amount = f"about {amount} (planner estimate: the table is too large to count)"
    return probe.template.format(count=amount)


def measure(conn: psycopg.Connection, plan: Plan, current: Schema, *, statement_timeout: float = 60.0) -> Plan:
    """The plan with every probe replaced by its count (or estimate); queries: 1 + one or two per huge-table probe."""
    pending = [(i, j, h.probe) for i, s in enumerate(plan.statements) for j, h in enumerate(s.hazards) if h.probe]
    if not pending:
        return plan
    results: dict[tuple[int, int], Hazard] = {}
    exact: list[tuple[int, int, Probe]] = []
    spent = 0
    for i, j, probe in pending:
        assert probe is not None
        hazard = plan.statements[i].hazards[j]
        table = current.table(probe.schema, probe.table)
        nbytes = table.size_bytes if table else 0
        if nbytes <= EXACT_MAX_TABLE_BYTES and spent + nbytes <= EXACT_BUDGET_BYTES:
            exact.append((i, j, probe))
            spent += nbytes
        elif probe.kind == "rows" and table is not None:
            n = max(table.row_estimate, 0)
            results[(i, j)] = replace(
                hazard, fact=_counted(probe, n, estimated=True), violations=n, estimated=True, probe=None
            )
        elif probe.kind == "where":
            results[(i, j)] = _estimate(conn, hazard, probe, statement_timeout)
        elif probe.kind == "duplicates" and _cost(conn, probe_sql(probe), statement_timeout) <= EXACT_MAX_COST:
            results[(i, j)] = _count(conn, {(i, j): hazard}, [(i, j, probe)], statement_timeout)[(i, j)]
        else:
            what = f"{human_size(nbytes)}" if table else "unknown size"
            results[(i, j)] = replace(
                hazard, fact=f"{hazard.fact} (not counted: the table is too large to scan, {what})", probe=None
            )
    scanned = {(i, j): plan.statements[i].hazards[j] for i, j, _ in exact}
    results.update(_count(conn, scanned, exact, statement_timeout))
    statements = []
    for i, s in enumerate(plan.statements):
        hazards = tuple(results.get((i, j), h) for j, h in enumerate(s.hazards))
        statements.append(replace(s, hazards=hazards))
    return replace(plan, statements=tuple(statements))


def _count(
    conn: psycopg.Connection,
    hazards: dict[tuple[int, int], Hazard],
    probes: list[tuple[int, int, Probe]],
    timeout: float,
) -> dict[tuple[int, int], Hazard]:
    if not probes:
        return {}
    out: dict[tuple[int, int], Hazard] = {}
    union = " UNION ALL ".join(f"SELECT {k}, ({probe_sql(p)})" for k, (_, _, p) in enumerate(probes))
    with conn.transaction(force_rollback=True):
        conn.execute(f"SET LOCAL statement_timeout = '{int(timeout * 1000)}ms'")
        try:
            with conn.transaction():
                found: dict[int, int | str] = dict(conn.execute(union).fetchall())
        except psycopg.Error:
            found = {}
            for k, (_, _, p) in enumerate(probes):
                try:
                    with conn.transaction():
                        row = conn.execute(probe_sql(p)).fetchone()  # type: ignore[arg-type]
                    found[k] = row[0] if row else 0
                except psycopg.Error as exc:
                    found[k] = _first_line(exc)
    for k, (i, j, probe) in enumerate(probes):
        hazard = hazards[(i, j)]
        n = found.get(k)
        if isinstance(n, int):
            out[(i, j)] = replace(hazard, fact=_counted(probe, n), violations=n, probe=None)
        else:
            out[(i, j)] = replace(hazard, fact=f"{hazard.fact} (could not be counted: {n})", probe=None)
    return out


def _explain(conn: psycopg.Connection, query: str, timeout: float) -> dict[str, Any]:
    """The top node of the planner's plan for `query`: its estimated rows and cost (nothing is run)."""
    with conn.transaction(force_rollback=True):
        conn.execute(f"SET LOCAL statement_timeout = '{int(timeout * 1000)}ms'")
        row = conn.execute(f"EXPLAIN (FORMAT JSON) {query}").fetchone()  # type: ignore[arg-type]
    explained = row[0] if row else None
    if isinstance(explained, str):
        explained = json.loads(explained)
    return explained[0]["Plan"]  # type: ignore[index,no-any-return]


def _cost(conn: psycopg.Connection, query: str, timeout: float) -> float:
    """The planner's cost for `query`; infinite when it cannot be planned (the caller falls back)."""
    try:
        return float(_explain(conn, query, timeout)["Total Cost"])
    except (psycopg.Error, KeyError, IndexError, TypeError, ValueError):
        return float("inf")


def _estimate(conn: psycopg.Connection, hazard: Hazard, probe: Probe, timeout: float) -> Hazard:
    """The exact count when an index makes it cheap, else the planner's estimate of the matching rows."""
    query = f"SELECT 1 FROM {ident(probe.schema, probe.table)} t WHERE {probe.predicate}"  # noqa: S608 (identifiers quoted; catalog-rendered SQL)
    try:
        top = _explain(conn, query, timeout)
        n, cost = int(top["Plan Rows"]), float(top["Total Cost"])
    except (psycopg.Error, KeyError, IndexError, TypeError, ValueError) as exc:
        return replace(hazard, fact=f"{hazard.fact} (could not be estimated: {_first_line(exc)})", probe=None)
    if cost <= EXACT_MAX_COST:
        return _count(conn, {(0, 0): hazard}, [(0, 0, probe)], timeout)[(0, 0)]
    return replace(hazard, fact=_counted(probe, n, estimated=True), violations=n, estimated=True, probe=None)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
