"""`CREATE CONSTRAINT TRIGGER` declared by DDL events: managed as a trigger (compared by pg_get_triggerdef,
its deferrability included), while the internal triggers PostgreSQL makes for foreign keys stay out.

Checked against the catalog, a re-diff to nothing and `pg_dump --schema-only` against `create_all`.
"""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import DDL, event

from tests.conftest import TestDB
from tests.engine.schema_helpers import create_all
from tests.engine.sync_helpers import live, prepare, rediff, sync
from tests.engine.test_pg_dump_equal import schema_dump, twin  # noqa: F401  (the twin fixture)

TABLE = '"Ledger.v2"'  # a dot, mixed case
TRIGGER = '"balance ""check"""'


def models(*, deferred: bool = True, events: str = "INSERT OR UPDATE") -> sa.MetaData:
    md = sa.MetaData()
    sa.Table("accounts", md, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table(
        "Ledger.v2",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id")),  # its internal triggers stay out
        sa.Column("amount", sa.Integer),
    )
    event.listen(
        md,
        "after_create",
        DDL(
            "CREATE FUNCTION check_balance() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN IF NEW.amount < 0 THEN RAISE EXCEPTION 'negative'; END IF; RETURN NULL; END $$"
        ),
    )
    event.listen(
        md,
        "after_create",
        DDL(
            f"CREATE CONSTRAINT TRIGGER {TRIGGER} AFTER {events} ON public.{TABLE} FROM public.accounts "
            + ("DEFERRABLE INITIALLY DEFERRED " if deferred else "NOT DEFERRABLE ")
            + "FOR EACH ROW EXECUTE FUNCTION public.check_balance()"
        ),
    )
    return md


def _constraint_triggers(pg: TestDB) -> list[tuple[str, bool, bool]]:
    rows = pg.execute(
        "SELECT tgname, tgdeferrable, tginitdeferred FROM pg_trigger WHERE tgconstraint <> 0 AND NOT tgisinternal"
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_created_from_empty_matches_create_all(pg: TestDB, twin: TestDB) -> None:  # noqa: F811
    md = models()
    prepared, _ = sync(pg, md)
    assert not prepared.desired.unmanaged_declared and not prepared.desired.model_errors
    assert [type(x).__name__ for x in prepared.diff.changes][-1] == "CreateTrigger"
    assert _constraint_triggers(pg) == [('balance "check"', True, True)]
    assert [t.name for t in live(pg).triggers] == ['balance "check"']  # not the foreign key's internal ones
    assert rediff(pg, md) == []
    create_all(twin, md)
    assert schema_dump(pg) == schema_dump(twin)
    pg.execute("INSERT INTO accounts VALUES (1)")
    with psycopg.connect(pg.url) as conn:  # deferred: the statement passes, the commit runs the check
        conn.execute(f"INSERT INTO public.{TABLE} VALUES (1, 1, -5)")
        with pytest.raises(psycopg.errors.RaiseException, match="negative"):
            conn.commit()


def test_changed_deferrability_recreates_it(pg: TestDB) -> None:
    sync(pg, models())
    changed = models(deferred=False, events="INSERT")
    prepared, _ = sync(pg, changed)
    assert [type(x).__name__ for x in prepared.diff.changes] == ["RecreateTrigger"]
    sql = [s.sql for s in prepared.plan.statements]
    assert sql[0] == f'DROP TRIGGER {TRIGGER} ON "public".{TABLE}'
    assert sql[1].startswith(f"CREATE CONSTRAINT TRIGGER {TRIGGER} AFTER INSERT ON public.{TABLE}")
    assert _constraint_triggers(pg) == [('balance "check"', False, False)]
    assert rediff(pg, changed) == []


def test_hand_made_constraint_trigger_left_alone_then_pruned(pg: TestDB) -> None:
    md = models()
    sync(pg, md)
    pg.execute(
        "CREATE CONSTRAINT TRIGGER hand AFTER DELETE ON accounts DEFERRABLE FOR EACH ROW "
        "EXECUTE FUNCTION check_balance()"
    )
    prepared = prepare(pg, md)
    assert prepared.diff.empty
    assert [u.describe() for u in prepared.diff.unmanaged] == ["trigger public.accounts.hand"]
    prepared, _ = sync(pg, md, prune=True)
    assert [s.sql for s in prepared.plan.statements] == ['DROP TRIGGER "hand" ON "public"."accounts"']
    assert _constraint_triggers(pg) == [('balance "check"', True, True)]
    assert rediff(pg, md, prune=True) == []
