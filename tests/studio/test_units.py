"""The diagram layout and the history entries, on schema values (no database)."""

from __future__ import annotations

import re
from datetime import datetime

from schemasync.history.versions import VersionRow
from schemasync.schema.model import Column, Dependency, ForeignKey, PrimaryKey, Schema, Table, View
from schemasync.studio import erd
from schemasync.studio.history import changes_between, entries


def table(name: str, *refs: str, schema: str = "public", columns: int = 2) -> Table:
    cols = [Column("id", "integer", nullable=False)] + [Column(f"{r}_id", "integer") for r in refs]
    cols += [Column(f"c{i}", "character varying(20)") for i in range(columns)]
    fks = tuple(ForeignKey(f"fk_{name}_{r}", (f"{r}_id",), "public", r, ("id",)) for r in refs)
    return Table(schema, name, tuple(cols), PrimaryKey(f"{name}_pkey", ("id",)), foreign_keys=fks)


def boxes(svg: str) -> dict[str, tuple[float, float]]:
    found = re.findall(r'data-table="([^"]+)"><title>[^<]*</title><rect class="erd-box" x="([\d.]+)" y="([\d.]+)"', svg)
    return {name: (float(x), float(y)) for name, x, y in found}


def test_referenced_tables_sit_left_of_the_tables_that_reference_them() -> None:
    schema = Schema(
        tables=(table("orgs"), table("users", "orgs"), table("orders", "users", "orgs"), table("items", "orders"))
    )
    drawing = erd.diagram(schema)
    at = boxes(drawing.svg)
    assert at["public.orgs"][0] < at["public.users"][0] < at["public.orders"][0] < at["public.items"][0]
    assert drawing.edges == 4 and drawing.svg.count('class="erd-edge"') == 4


def test_cycles_self_references_and_loose_tables_are_drawn() -> None:
    schema = Schema(
        tables=(
            table("a", "b"),
            table("b", "a"),
            table("tree", "tree"),
            table("alone"),
            table("other", schema="x"),
        )
    )
    drawing = erd.diagram(schema)
    at = boxes(drawing.svg)
    assert set(at) == {"public.a", "public.b", "public.tree", "public.alone", "x.other"}
    assert drawing.edges == 3
    layered_bottom = max(y for name, (_, y) in at.items() if name in ("public.a", "public.b", "public.tree"))
    assert at["public.alone"][1] > layered_bottom  # tables without relationships go underneath
    assert ">x.other<" in drawing.svg  # qualified outside public


def test_views_sit_right_of_the_relations_they_read() -> None:
    views = (
        View("public", "v", False, "SELECT ...", (("id", "integer"),)),
        View("public", "m", True, "SELECT ...", (("n", "bigint"),)),
    )
    uses = (
        Dependency("view", "public", "v", None, "public", "orgs", "id"),
        Dependency("view", "public", "v", None, "public", "orgs", "c0"),  # one edge per relation, not per column
        Dependency("materialized view", "public", "m", None, "public", "v", None),
    )
    drawing = erd.diagram(Schema(tables=(table("orgs"),), views=views, dependencies=uses))
    at = boxes(drawing.svg)
    assert at["public.orgs"][0] < at["public.v"][0] < at["public.m"][0]
    assert (drawing.tables, drawing.views, drawing.edges, drawing.uses) == (1, 2, 0, 2)
    assert drawing.svg.count('class="erd-edge erd-uses"') == 2 and ">mat. view<" in drawing.svg


def test_big_schemas_are_compact_and_the_neighbourhood_is_bounded() -> None:
    tables = [table("hub")] + [table(f"t{i}", "hub" if i % 2 else f"t{i - 1}") for i in range(1, 80)]
    schema = Schema(tables=tuple(tables))
    drawing = erd.diagram(schema)
    assert drawing.compact and 'class="erd-col"' not in drawing.svg
    assert erd.neighbourhood(schema, ("public", "t2"), 1) == {("public", "t2"), ("public", "t1")}  # t2 -> t1 -> hub
    around_hub = erd.neighbourhood(schema, ("public", "hub"), 1)
    assert len(around_hub) == 41 and ("public", "t2") not in around_hub  # hub and the 40 odd tables
    assert ("public", "hub") in erd.neighbourhood(schema, ("public", "t2"), 2)
    assert erd.diagram(Schema()).tables == 0


def test_many_columns_keep_the_key_columns() -> None:
    wide = table("wide", "orgs", columns=40)
    drawing = erd.diagram(Schema(tables=(table("orgs"), wide)))
    assert ">orgs_id<" in drawing.svg and "… 28 more columns" in drawing.svg


def row(i: int, digest: str | None) -> VersionRow:
    return VersionRow(
        id=i, schema_version=f"1.{i}.0", app_version=None, applied_at=datetime(2026, 1, i), environment="dev",
        status="applied", description=None, notes=None, applied_by=None, approved_by=None, backup_uri=None,
        run_id=None, duration_ms=None, schema_hash=digest, migration_file=None, script_version=None, changes=None,
    )  # fmt: skip


def test_history_entries_compare_hashes_and_snapshots() -> None:
    rows = [row(4, "c"), row(3, "b"), row(2, None), row(1, "b")]  # newest first
    plain = entries(rows)
    assert [e.schema_changed for e in plain] == [True, False, None, None]
    assert all(e.changes is None for e in plain)
    v1 = Schema(tables=(table("users"),))
    v2 = Schema(tables=(table("users"), table("orders", "users")))
    snapshots = {3: v1, 4: v2}
    with_snapshots = entries(rows, lambda r: snapshots.get(r.id))
    assert with_snapshots[0].changes == ("Found 1 new table: orders",)
    assert with_snapshots[1].changes is None  # no snapshot for the row before it
    assert changes_between(v2, v1) == ("Found 1 table to drop (deletes its rows): orders",)
    assert changes_between(v1, v1) == ("No schema changes",)
