"""The executor against a real PostgreSQL: atomicity, stale plans, hazards, locks, timeouts, facts."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import psycopg
import pytest
from sqlalchemy import Column, ForeignKey, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

from schemasync import db, engine
from schemasync.apply import StalePlan, apply
from schemasync.errors import ApplyFailed, Refused
from schemasync.history import versions
from schemasync.plan import HazardKind
from schemasync.schema.target import load_models
from tests.conftest import EXAMPLES, TestDB
from tests.engine.sync_helpers import ALL, live, models, prepare, rediff, settings_for, sync


def example() -> MetaData:
    return load_models("exampleapp.models:Base", EXAMPLES / "app")


def people(*, email_not_null: bool = False, extra: bool = False) -> MetaData:
    md = MetaData()
    Table(
        "people",
        md,
        Column("id", Integer, primary_key=True),
        Column("email", String(100), nullable=not email_not_null),
        Column("name", Text),
    )
    if extra:
        Table("notes", md, Column("id", Integer, primary_key=True), Column("body", Text))
    return md


def test_apply_creates_records_and_a_second_sync_plans_nothing(pg: TestDB) -> None:
    prepared, applied = sync(pg, example(), version="1.0.0")
    assert applied is not None and applied.version_id == 1 and applied.attempts == 1
    row = pg.execute("SELECT schema_version, status, changes, schema_hash, description FROM schema_versions")[0]
    assert row[:3] == ("1.0.0", "applied", len(prepared.diff.changes))
    assert row[3] == applied.schema_hash and "4 new tables" in str(row[4])
    assert rediff(pg, example()) == []
    again, nothing = sync(pg, example(), version="1.0.0")
    assert again.plan.empty and nothing is None


def test_a_failing_statement_leaves_the_database_unchanged_and_no_version_row(pg: TestDB) -> None:
    pg.execute("CREATE TABLE people (id serial PRIMARY KEY, email varchar(100), name text)")
    pg.execute("INSERT INTO people (email, name) VALUES ('a@x', 'A'), (NULL, 'B'), (NULL, 'C')")
    before = live(pg)
    prepared = prepare(pg, people(email_not_null=True, extra=True))
    (hazard,) = [h for h in prepared.plan.hazards if h.kind is HazardKind.DATA_DEPENDENT]
    assert hazard.violations == 2 and hazard.blocking and "people has 2 rows with NULL in email" in hazard.fact
    # forced past the hazard check: the SET NOT NULL fails after CREATE TABLE notes already ran
    assert [s.sql.split(" (")[0] for s in prepared.plan.statements] == [
        'CREATE TABLE "public"."notes"',
        'ALTER TABLE "public"."people" ALTER COLUMN "email" SET NOT NULL',
    ]
    with pytest.raises(ApplyFailed) as failure:
        sync(pg, people(email_not_null=True, extra=True), version="1.1.0")
    assert "Statement 2 of 2 failed" in failure.value.message
    assert "contains null values" in failure.value.message
    assert "nothing was changed" in failure.value.message
    assert live(pg) == before
    assert pg.scalar("SELECT to_regclass('public.schema_versions')") is None
    assert pg.scalar("SELECT count(*) FROM people") == 3


def test_a_plan_that_does_not_reach_the_models_is_rolled_back_loudly(pg: TestDB) -> None:
    """The re-inspection before COMMIT is the safety net for planner bugs: a plan missing a statement
    (here the CREATE TABLE of notes) runs, is found not to match the models, and is rolled back."""
    pg.execute("CREATE TABLE people (id serial PRIMARY KEY, email varchar(100), name text)")
    pg.execute("INSERT INTO people (email, name) VALUES ('a@x', 'A')")
    with pg.connect() as conn:
        versions.ensure_table(conn)
        versions.record(conn, versions.Record("1.0.0", versions.Status.APPLIED, "test"))
        versions_before = conn.execute("SELECT * FROM schema_versions").fetchall()
    before = live(pg)
    settings = settings_for(pg)
    prepared = prepare(pg, people(email_not_null=True, extra=True))
    incomplete = replace(prepared.plan, statements=prepared.plan.statements[1:])
    assert [s.sql.split(" (")[0] for s in incomplete.statements] == [
        'ALTER TABLE "public"."people" ALTER COLUMN "email" SET NOT NULL'
    ]
    with pg.connect() as conn, pytest.raises(ApplyFailed) as failure:
        apply(
            conn,
            db.parse_url(pg.url, "test"),
            incomplete,
            settings=settings,
            desired=prepared.desired,
            options=prepared.options,
            allow=ALL,
            record=versions.Record("1.1.0", versions.Status.APPLIED, "test"),
        )
    assert "does not match the models" in failure.value.message and "notes" in failure.value.message
    assert "nothing was changed" in failure.value.message
    assert live(pg) == before  # the SET NOT NULL that ran was rolled back with everything else
    assert pg.execute("SELECT * FROM schema_versions") == versions_before


def test_hazards_not_allowed_are_refused_before_touching_anything(pg: TestDB) -> None:
    pg.execute("CREATE TABLE people (id serial PRIMARY KEY, email varchar(100), name text, legacy text)")
    before = live(pg)
    with pytest.raises(Refused) as refused:
        sync(pg, people(), prune=True, allow={HazardKind.LOCKING}, version="2.0.0")
    assert "DELETES_DATA" in refused.value.message and "drops column people.legacy" in refused.value.message
    assert live(pg) == before
    _, applied = sync(pg, people(), prune=True, allow={HazardKind.DELETES_DATA}, version="2.0.0")
    assert applied is not None and [
        c
        for (c,) in pg.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'people' ORDER BY 1"
        )
    ] == ["email", "id", "name"]


def test_a_stale_plan_is_refused(pg: TestDB) -> None:
    settings = settings_for(pg)
    target = db.parse_url(pg.url, "test")
    with pg.connect() as conn:
        prepared = engine.prepare(conn, settings, models=models(pg, people()))
    pg.execute("CREATE TABLE people (id int)")  # someone else got there first
    with pg.connect() as conn, pytest.raises(StalePlan) as stale:
        apply(
            conn,
            target,
            prepared.plan,
            settings=settings,
            desired=prepared.desired,
            options=prepared.options,
            allow=ALL,
        )
    assert "changed since this plan was made" in stale.value.message and stale.value.exit_code == 3
    assert pg.scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = 'people'") == 1


def test_lock_timeout_is_retried_with_backoff(pg: TestDB) -> None:
    pg.execute("CREATE TABLE people (id serial PRIMARY KEY, email varchar(100))")
    holder = pg.connect()
    holder.autocommit = False
    holder.execute("SELECT * FROM people")  # ACCESS SHARE until commit: ALTER TABLE must wait

    with pytest.raises(ApplyFailed) as failed:
        sync(pg, people(), lock_timeout=0.2, lock_retries=0)
    assert "lock_timeout" in (failed.value.hint or "") and "nothing was changed" in failed.value.message

    def release_after_a_timed_out_attempt() -> None:
        # Not a fixed delay: planning takes longer than any fixed delay on a loaded machine. The holder lets go
        # once an attempt has waited for its lock (and so timed out): the retry is what this test is about.
        deadline = time.monotonic() + 60
        with pg.connect() as watcher:
            waiting = (
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            while time.monotonic() < deadline and not watcher.execute(waiting).fetchone()[0]:  # type: ignore[index]
                time.sleep(0.02)
        time.sleep(0.5)
        holder.commit()

    release = threading.Thread(target=release_after_a_timed_out_attempt)
    release.start()
    try:
        _, applied = sync(pg, people(), lock_timeout=0.2, lock_retries=4)
    finally:
        release.join()
        holder.close()
    assert applied is not None and applied.attempts > 1
    assert rediff(pg, people()) == []


def test_concurrent_index_is_built_after_the_transaction(pg: TestDB) -> None:
    pg.execute("CREATE TABLE docs (id serial PRIMARY KEY, title text)")
    pg.execute("INSERT INTO docs (title) SELECT 'doc ' || g FROM generate_series(1, 100) g")
    md = MetaData()
    t = Table("docs", md, Column("id", Integer, primary_key=True), Column("title", Text))
    Index("ix_docs_title", t.c.title, unique=True)
    prepared, applied = sync(pg, md, concurrent_indexes=True, version="1.0.0")
    (statement,) = prepared.plan.statements
    assert statement.sql.startswith('CREATE UNIQUE INDEX CONCURRENTLY "ix_docs_title"')
    assert not statement.transactional
    assert applied is not None and pg.scalar("SELECT count(*) FROM schema_versions") == 1
    assert pg.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_docs_title'::regclass") is True


def test_a_failed_concurrent_build_fails_loudly_and_the_next_sync_rebuilds_it(pg: TestDB) -> None:
    pg.execute("CREATE TABLE docs (id serial PRIMARY KEY, title text)")
    pg.execute("INSERT INTO docs (title) VALUES ('same'), ('same')")
    md = MetaData()
    t = Table("docs", md, Column("id", Integer, primary_key=True), Column("title", Text))
    Index("ix_docs_title", t.c.title, unique=True)
    with pytest.raises(ApplyFailed) as failed:
        sync(pg, md, concurrent_indexes=True)
    assert "already been committed" in failed.value.message
    pg.execute("DELETE FROM docs WHERE id = 2")
    prepared, _ = sync(pg, md, concurrent_indexes=True)
    assert [s.sql.split(" ON ")[0] for s in prepared.plan.statements] == [
        'DROP INDEX "public"."ix_docs_title"',
        'CREATE UNIQUE INDEX CONCURRENTLY "ix_docs_title"',
    ]
    assert rediff(pg, md) == []


def test_two_applies_at_once_one_wins_the_other_is_refused_cleanly(pg: TestDB) -> None:
    settings = settings_for(pg)
    target = db.parse_url(pg.url, "test")
    wanted = models(pg, example())
    with pg.connect() as conn:
        prepared = engine.prepare(conn, settings, models=wanted)
    outcomes: list[object] = []

    def run() -> None:
        try:
            with pg.connect() as conn:
                record = versions.Record("1.0.0", versions.Status.APPLIED, "test")
                outcomes.append(
                    apply(
                        conn,
                        target,
                        prepared.plan,
                        settings=settings,
                        desired=prepared.desired,
                        options=prepared.options,
                        allow=ALL,
                        record=record,
                    )
                )
        except (StalePlan, ApplyFailed) as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(type(o).__name__ for o in outcomes) == ["Applied", "StalePlan"]
    assert pg.scalar("SELECT count(*) FROM schema_versions") == 1
    assert rediff(pg, example()) == []


def test_facts_count_the_rows_behind_each_hazard(pg: TestDB) -> None:
    pg.execute("CREATE TABLE teams (id int PRIMARY KEY)")
    pg.execute("CREATE TABLE members (id int PRIMARY KEY, team_id int, email text, nick varchar(30))")
    pg.execute("INSERT INTO teams VALUES (1), (2)")
    pg.execute(
        "INSERT INTO members VALUES (1, 1, 'a', 'averyveryverylongnickname'), (2, 3, 'a', 'b'), (3, 4, 'b', 'c'),"
        " (4, NULL, NULL, 'd')"
    )
    md = MetaData()
    Table("teams", md, Column("id", Integer, primary_key=True, autoincrement=False))
    Table(
        "members",
        md,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("team_id", Integer, ForeignKey("teams.id", name="fk_team")),
        Column("email", Text, nullable=False),
        Column("nick", String(10)),
        UniqueConstraint("email", name="uq_email"),
    )
    facts = {h.fact for h in prepare(pg, md).plan.hazards if h.kind is HazardKind.DATA_DEPENDENT}
    assert facts == {
        "members has 1 row with NULL in email: fill them before it can be NOT NULL",
        "members has 1 row with longer values in nick (for character varying(10))",
        "members has 1 repeated value of (email): remove the duplicates before adding the unique constraint",
        "members has 2 rows pointing at missing teams rows (foreign key fk_team): fix or remove them first",
    }


def test_probes_on_renamed_columns_use_the_names_before_the_plan(pg: TestDB) -> None:
    pg.execute("CREATE TABLE people (id serial PRIMARY KEY, mail varchar(100), name text)")
    pg.execute("INSERT INTO people (mail) VALUES (NULL)")
    md = people(email_not_null=True)
    md.tables["people"].c.email.info["renamed_from"] = "mail"
    prepared = prepare(pg, md)
    assert [type(c).__name__ for c in prepared.diff.changes] == ["RenameColumn", "AlterColumnNullability"]
    (hazard,) = [h for h in prepared.plan.hazards if h.kind is HazardKind.DATA_DEPENDENT]
    assert hazard.violations == 1


def test_version_row_is_written_in_the_same_transaction_as_the_ddl(pg: TestDB) -> None:
    """A version that cannot be recorded (too long for the column) takes the DDL down with it."""
    with pytest.raises((ApplyFailed, Exception)):
        sync(pg, people(), version="1.0.0.dev123456789012345")
    assert pg.scalar("SELECT to_regclass('public.people')") is None


def test_apply_refuses_an_open_transaction(pg: TestDB) -> None:
    settings = settings_for(pg)
    with psycopg.connect(pg.url) as conn:
        prepared = engine.prepare(conn, settings, models=models(pg, people()))
        conn.execute("SELECT 1")
        with pytest.raises(ValueError, match="no transaction open"):
            apply(
                conn,
                db.parse_url(pg.url, "t"),
                prepared.plan,
                settings=settings,
                desired=prepared.desired,
                options=prepared.options,
                allow=ALL,
            )
    time.sleep(0)
