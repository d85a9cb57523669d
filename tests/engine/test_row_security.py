"""Row-level security declared by the models' DDL events: ENABLE/FORCE on a table, and policies.

Checked against the real database afterwards (pg_class flags, pg_policies, a re-diff to nothing, and
`pg_dump --schema-only` against `create_all` of the same models). Each test makes its own role with a
unique name (roles belong to the whole cluster) and drops it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import DDL, event

from schemasync.plan import HazardKind
from tests.conftest import TestDB, url_for
from tests.engine.schema_helpers import create_all
from tests.engine.sync_helpers import prepare, rediff, sync
from tests.engine.test_pg_dump_equal import schema_dump, twin  # noqa: F401  (the twin fixture)


@pytest.fixture
def role(pg: TestDB) -> Iterator[str]:
    """A role with a hostile, unique name; what it holds in the test database is dropped with it."""
    name = f'reader "{uuid.uuid4().hex[:8]}"'
    quoted = _quoted(name)
    with psycopg.connect(url_for("postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {quoted}")
    try:
        yield name
    finally:
        pg.execute(f"DROP OWNED BY {quoted}")  # the policies naming it (roles belong to the whole cluster)
        with psycopg.connect(url_for("postgres"), autocommit=True) as conn:
            conn.execute(f"DROP ROLE {quoted}")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def models(role: str, *, using: str = "owner = current_user", force: bool = True, check: bool = True) -> sa.MetaData:
    md = sa.MetaData()
    notes = sa.Table("notes", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("owner", sa.String(40)))
    event.listen(notes, "after_create", DDL("ALTER TABLE notes ENABLE ROW LEVEL SECURITY"))
    if force:
        event.listen(notes, "after_create", DDL("ALTER TABLE public.notes FORCE ROW LEVEL SECURITY"))
    event.listen(
        notes, "after_create", DDL(f"CREATE POLICY own ON notes FOR SELECT TO {_quoted(role)} USING ({using})")
    )
    if check:
        event.listen(
            notes,
            "after_create",
            DDL('CREATE POLICY "it\'s ""new""" ON notes AS RESTRICTIVE FOR INSERT WITH CHECK (length(owner) < 10)'),
        )
    return md


def _state(pg: TestDB) -> tuple[tuple[bool, bool], list[tuple[object, ...]]]:
    with pg.connect() as conn:
        flags = conn.execute(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'notes'"
        ).fetchone()
        policies = conn.execute(
            "SELECT policyname, permissive, roles::text[], cmd, qual, with_check FROM pg_policies ORDER BY policyname"
        ).fetchall()
    assert flags is not None
    return (flags[0], flags[1]), policies


def test_created_from_empty_match_create_all(pg: TestDB, twin: TestDB, role: str) -> None:  # noqa: F811
    prepared, applied = sync(pg, models(role))
    assert applied is not None and not prepared.desired.unmanaged_declared
    flags, policies = _state(pg)
    assert flags == (True, True)
    assert policies == [
        ("it's \"new\"", "RESTRICTIVE", ["public"], "INSERT", None,
         "(length((owner)::text) < 10)"),
        ("own", "PERMISSIVE", [role], "SELECT", "((owner)::text = CURRENT_USER)", None),
    ]  # fmt: skip
    assert rediff(pg, models(role)) == []
    try:
        create_all(twin, models(role))
        assert schema_dump(pg) == schema_dump(twin)
    finally:
        twin.execute(f"DROP OWNED BY {_quoted(role)}")


def test_changed_policy_altered_or_recreated_and_flags_follow(pg: TestDB, role: str) -> None:
    sync(pg, models(role))
    changed = models(role, using="owner = session_user", force=False)
    prepared, _ = sync(pg, changed)
    assert [s.sql for s in prepared.plan.statements] == [
        'ALTER TABLE "public"."notes" NO FORCE ROW LEVEL SECURITY',
        'ALTER POLICY "own" ON "public"."notes" TO ' + _quoted(role) + " USING (((owner)::text = SESSION_USER))",
    ]
    assert _state(pg)[0] == (True, False)
    assert _state(pg)[1][1][4] == "((owner)::text = SESSION_USER)"
    assert rediff(pg, changed) == []

    # ALTER POLICY cannot change the command: dropped and created in the same transaction.
    pg.execute("DROP POLICY own ON notes; CREATE POLICY own ON notes FOR ALL USING (owner = session_user)")
    prepared, _ = sync(pg, changed)
    assert [s.sql.split(" ON ")[0] for s in prepared.plan.statements] == ['DROP POLICY "own"', 'CREATE POLICY "own"']
    assert _state(pg)[1][1][3] == "SELECT"
    assert rediff(pg, changed) == []


def test_hand_made_policy_and_flags_left_alone_then_pruned(pg: TestDB, role: str) -> None:
    md = models(role, check=False)
    sync(pg, md)
    pg.execute(
        """
        CREATE POLICY dba_rule ON notes FOR DELETE USING (false);
        CREATE TABLE other (id int PRIMARY KEY);
        ALTER TABLE other ENABLE ROW LEVEL SECURITY;
        CREATE POLICY elsewhere ON other USING (true);
        """
    )
    extra = models(role, check=False)
    sa.Table("other", extra, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False))
    prepared = prepare(pg, extra)
    assert prepared.diff.empty
    assert sorted(u.describe() for u in prepared.diff.unmanaged) == [
        "policy public.notes.dba_rule",
        "policy public.other.elsewhere",
        "row security public.other",
    ]
    prepared, _ = sync(pg, extra, prune=True)
    assert [s.sql for s in prepared.plan.statements] == [
        'DROP POLICY "dba_rule" ON "public"."notes"',
        'DROP POLICY "elsewhere" ON "public"."other"',
        'ALTER TABLE "public"."other" DISABLE ROW LEVEL SECURITY',
    ]
    assert all(h.kind is HazardKind.CORRECTNESS for s in prepared.plan.statements for h in s.hazards)
    assert [p[0] for p in _state(pg)[1]] == ["own"]
    assert rediff(pg, extra, prune=True) == []
