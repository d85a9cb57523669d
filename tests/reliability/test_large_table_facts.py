"""Hazard facts on tables too large to scan (issue 9, Load): an index answers exactly, else the planner's estimate.

A table of millions of rows is simulated by making every table "too large" (`EXACT_MAX_TABLE_BYTES` = 0)
and setting the cost budget between what the planner charges for an index lookup and for a full scan of
these 20,000-row tables. The benchmark (`bench/bench_hazards.py`) does the same on 5 million real rows.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import BigInteger, Column, Index, MetaData, Table, Text, UniqueConstraint

from schemasync.plan import HazardKind, facts
from tests.conftest import TestDB
from tests.engine.sync_helpers import prepare

pytestmark = pytest.mark.reliability

ROWS = 20_000


def build(pg: TestDB) -> None:
    for name in ("plain", "indexed"):
        pg.execute(f"CREATE TABLE {name} (id bigint PRIMARY KEY, email text NOT NULL, nickname text)")
        pg.execute(
            f"INSERT INTO {name} SELECT g, CASE WHEN g <= 3 THEN 'same' ELSE 'u' || g END,"
            f" CASE WHEN g % 1000 = 0 THEN NULL ELSE 'n' || g END FROM generate_series(1, {ROWS}) g"
        )
    pg.execute("CREATE INDEX ix_nickname ON indexed (nickname)")
    pg.execute("CREATE INDEX ix_email ON indexed (email)")
    pg.execute("VACUUM ANALYZE")


def models() -> MetaData:
    md = MetaData()
    for name in ("plain", "indexed"):
        Table(
            name,
            md,
            Column("id", BigInteger, primary_key=True, autoincrement=False),
            Column("email", Text, nullable=False),
            Column("nickname", Text, nullable=False),  # SET NOT NULL: 20 rows hold NULL
            UniqueConstraint("email", name=f"uq_{name}_email"),  # 'same' is repeated
        )
    Index("ix_nickname", md.tables["indexed"].c.nickname)
    Index("ix_email", md.tables["indexed"].c.email)
    return md


def full_scan_cost(pg: TestDB) -> float:
    plan = pg.scalar("EXPLAIN (FORMAT JSON) SELECT 1 FROM plain t WHERE t.nickname IS NULL")
    explained = json.loads(plan) if isinstance(plan, str) else plan
    return float(explained[0]["Plan"]["Total Cost"])  # type: ignore[index]


def facts_by_table(pg: TestDB) -> dict[tuple[str, str], tuple[int | None, bool, str]]:
    """(table, what) -> (violations, estimated, fact) of each data-dependent hazard of the plan."""
    found = {}
    for hazard in prepare(pg, models()).plan.hazards:
        if hazard.kind is HazardKind.DATA_DEPENDENT:
            table = "indexed" if "indexed" in hazard.fact else "plain"
            what = "null" if "NULL" in hazard.fact else "duplicates"
            found[(table, what)] = (hazard.violations, hazard.estimated, hazard.fact)
    return found


def test_an_index_makes_a_large_table_count_exact_and_a_scan_falls_back_to_the_estimate(
    pg: TestDB, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(pg)
    monkeypatch.setattr(facts, "EXACT_MAX_TABLE_BYTES", 0)
    monkeypatch.setattr(facts, "EXACT_MAX_COST", full_scan_cost(pg) / 2)
    found = facts_by_table(pg)
    # through ix_nickname: counted, exact, and so certain to fail
    assert found[("indexed", "null")] == (
        20,
        False,
        "indexed has 20 rows with NULL in nickname: fill them before it can be NOT NULL",
    )
    # no index: the planner's estimate (from the column's null fraction), said to be one
    violations, estimated, fact = found[("plain", "null")]
    assert estimated and violations is not None and 0 < violations < ROWS
    assert fact.startswith("plain has about ") and "(planner estimate: the table is too large to count)" in fact
    # grouping every row costs a full pass even through an index: not counted, on both tables
    for table in ("plain", "indexed"):
        violations, estimated, fact = found[(table, "duplicates")]
        assert violations is None and not estimated and "(not counted: the table is too large to scan" in fact


def test_duplicates_on_a_large_table_are_counted_when_the_planner_expects_it_to_be_cheap(
    pg: TestDB, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(pg)
    monkeypatch.setattr(facts, "EXACT_MAX_TABLE_BYTES", 0)
    monkeypatch.setattr(facts, "EXACT_MAX_COST", full_scan_cost(pg) * 100)
    found = facts_by_table(pg)
    for table in ("plain", "indexed"):
        assert found[(table, "duplicates")][:2] == (1, False)
        assert found[(table, "null")][:2] == (20, False)
