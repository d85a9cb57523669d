"""Online plans on a busy table: writers keep writing, failures part-way resume (issue 18).

A table of 200,000 rows gets each online change (NOT NULL, a changed index, a foreign key, a check) while
a writer thread with its own connection inserts and updates in a loop and times every statement. No write
may wait much longer than the steps' lock_timeout, the result must converge, and a run stopped part-way
(its session terminated during VALIDATE, a duplicate breaking a concurrent unique build) must be finished
by the next run from what the catalog shows.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, MetaData, Table, Text

from schemasync import db, engine
from schemasync.apply import apply
from schemasync.diff.names import not_null_helper, rebuild_name
from schemasync.errors import ApplyFailed, CommittedApplyFailed
from schemasync.history import snapshots, versions
from schemasync.schema.inspect import inspect
from tests.conftest import TestDB
from tests.engine.sync_helpers import ALL, models, prepare, rediff, settings_for, sync

ROWS = 200_000
LOCK_TIMEOUT = 0.5  # seconds: each step's own
MARGIN = 1.5  # seconds: a shared, busy test machine


def fill(pg: TestDB) -> None:
    pg.execute("CREATE TABLE owners (id integer PRIMARY KEY)")
    pg.execute("INSERT INTO owners SELECT g FROM generate_series(1, 1000) g")
    pg.execute("CREATE TABLE accounts (id bigserial PRIMARY KEY, owner_id integer, email text, score integer)")
    pg.execute(
        "INSERT INTO accounts (owner_id, email, score) "
        f"SELECT 1 + g % 1000, 'user' || g || '@example.com', 1 + g % 100 FROM generate_series(1, {ROWS}) g"
    )
    pg.execute("CREATE INDEX ix_accounts_email ON accounts (email)")
    pg.execute("ANALYZE owners")
    pg.execute("ANALYZE accounts")


def wanted(*, unique_email: bool = False) -> MetaData:
    md = MetaData()
    Table("owners", md, Column("id", Integer, primary_key=True, autoincrement=False))
    accounts = Table(
        "accounts",
        md,
        Column("id", Integer().with_variant(Integer, "postgresql"), primary_key=True),
        Column("owner_id", Integer, ForeignKey("owners.id", name="fk_accounts_owner")),
        Column("email", Text, nullable=False),
        Column("score", Integer),
        CheckConstraint("score > 0", name="ck_accounts_score"),
    )
    Index("ix_accounts_email", accounts.c.email, accounts.c.owner_id, unique=unique_email)
    return md


def adopt_bigint(pg: TestDB, md: MetaData) -> MetaData:
    """The models' key as the database has it (bigserial), so only the online changes are planned."""
    from sqlalchemy import BigInteger

    md.tables["accounts"].c.id.type = BigInteger()
    return md


class Writer:
    """Inserts and updates `accounts` in a loop on its own connection, timing every statement."""

    def __init__(self, pg: TestDB) -> None:
        self.conn = pg.connect()
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            for sql, params in (
                (
                    "INSERT INTO accounts (owner_id, email, score) VALUES (%s, %s, 1)",
                    (1 + n % 1000, f"writer{n}-{random.random()}@example.com"),
                ),
                ("UPDATE accounts SET score = score + 1 WHERE id = %s", (1 + random.randrange(ROWS),)),
            ):
                started = time.monotonic()
                try:
                    self.conn.execute(sql, params)  # type: ignore[arg-type]
                except psycopg.Error as exc:
                    self.errors.append(str(exc).splitlines()[0])
                self.latencies.append(time.monotonic() - started)

    @contextmanager
    def running(self) -> Iterator[Writer]:
        self.thread.start()
        time.sleep(0.2)
        try:
            yield self
        finally:
            self.stop.set()
            self.thread.join(10)
            self.conn.close()


def online(**overrides: object) -> dict[str, object]:
    return {"online": True, "lock_timeout": LOCK_TIMEOUT, "lock_retries": 3, **overrides}


def test_a_writer_never_waits_long_while_an_online_plan_runs_and_the_result_converges(pg: TestDB) -> None:
    fill(pg)
    md = adopt_bigint(pg, wanted())
    with Writer(pg).running() as writer:
        prepared, applied = sync(pg, md, **online())
    assert applied is not None
    after = [s.sql for s in prepared.plan.parts()[2]]
    assert any('VALIDATE CONSTRAINT "fk_accounts_owner"' in s for s in after)
    assert any('VALIDATE CONSTRAINT "ck_accounts_score"' in s for s in after)
    assert any(f'VALIDATE CONSTRAINT "{not_null_helper("email")}"' in s for s in after)
    assert any(s.startswith(f'CREATE INDEX CONCURRENTLY "{rebuild_name("ix_accounts_email")}"') for s in after)
    assert len(applied.outside) == len(after)  # the summary names every step that ran outside the transaction
    assert writer.errors == []
    assert len(writer.latencies) > 20
    assert max(writer.latencies) < LOCK_TIMEOUT + MARGIN, f"a write waited {max(writer.latencies):.2f}s"
    assert rediff(pg, md, online=True) == []
    assert pg.scalar("SELECT count(*) FROM pg_constraint WHERE conname LIKE 'schemasync_not_null_%'") == 0
    assert pg.scalar("SELECT bool_and(convalidated) FROM pg_constraint WHERE conrelid = 'accounts'::regclass") is True
    assert pg.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_accounts_email'::regclass") is True


def _wait_for(pg: TestDB, fragment: str, *, waiting: bool = True) -> int:
    """The pid of the session running a statement containing `fragment` (waiting for a lock, by default)."""
    with pg.connect() as watcher:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            row = watcher.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE %s "
                "AND (NOT %s OR wait_event_type = 'Lock') AND pid <> pg_backend_pid()",
                (f"%{fragment}%", waiting),
            ).fetchone()
            if row:
                return int(row[0])
            time.sleep(0.02)
    raise AssertionError(f"no session ran {fragment!r}")


def test_a_validate_whose_session_is_terminated_is_resumed_by_the_next_run(pg: TestDB) -> None:
    fill(pg)
    pg.execute("ALTER TABLE accounts ADD CONSTRAINT fk_accounts_owner FOREIGN KEY (owner_id) REFERENCES owners (id)")
    pg.execute("ALTER TABLE accounts ADD CONSTRAINT ck_accounts_score CHECK (score > 0)")
    pg.execute("DROP INDEX ix_accounts_email")
    pg.execute("CREATE INDEX ix_accounts_email ON accounts (email, owner_id)")
    md = adopt_bigint(pg, wanted())  # only NOT NULL on email is left to do
    helper = not_null_helper("email")
    # A writer's open transaction makes the ADD ... NOT VALID wait; a session asking for SHARE UPDATE EXCLUSIVE
    # queues behind it, so once the transaction commits, VALIDATE waits behind that session and is seen waiting.
    writer = pg.connect()
    writer.execute("BEGIN")
    writer.execute("UPDATE accounts SET score = score WHERE id = 1")
    holder = pg.connect()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            sync(pg, md, **online(lock_timeout=20.0, lock_retries=0))
        except BaseException as exc:
            failures.append(exc)

    syncing = threading.Thread(target=run)
    syncing.start()
    queued = threading.Thread(target=lambda: (holder.execute("BEGIN"), holder.execute(
        "LOCK TABLE accounts IN SHARE UPDATE EXCLUSIVE MODE")))  # fmt: skip
    try:
        _wait_for(pg, "NOT VALID")
        queued.start()
        _wait_for(pg, "LOCK TABLE accounts")
        writer.commit()
        victim = _wait_for(pg, "VALIDATE CONSTRAINT")
        pg.execute("SELECT pg_terminate_backend(%s)", (victim,))
        syncing.join(20)
    finally:
        queued.join(20)
        holder.close()
        writer.close()
    assert len(failures) == 1 and isinstance(failures[0], ApplyFailed)
    assert "connection to the database was lost" in failures[0].message
    assert pg.scalar("SELECT convalidated FROM pg_constraint WHERE conname = %s", (helper,)) is False
    assert (
        pg.scalar("SELECT attnotnull FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'email'")
        is False
    )

    with Writer(pg).running() as busy:
        prepared, applied = sync(pg, md, **online())
    first = prepared.plan.statements[0].sql
    assert first.endswith(f'VALIDATE CONSTRAINT "{helper}"'), "the run resumes at VALIDATE, it does not add again"
    assert prepared.plan.parts()[1] == ()  # nothing left for the transaction
    assert applied is not None and busy.errors == []
    assert max(busy.latencies) < LOCK_TIMEOUT + MARGIN
    assert rediff(pg, md, online=True) == []
    assert pg.scalar("SELECT count(*) FROM pg_constraint WHERE conname = %s", (helper,)) == 0


def test_a_duplicate_that_breaks_a_concurrent_unique_rebuild_keeps_the_old_index_and_the_next_run_rebuilds(
    pg: TestDB,
) -> None:
    fill(pg)
    md = adopt_bigint(pg, wanted(unique_email=True))
    sync(pg, adopt_bigint(pg, wanted()), **online())  # everything but the unique index
    settings = settings_for(pg, **online())
    temporary = rebuild_name("ix_accounts_email")
    with pg.connect() as conn:
        prepared = engine.prepare(conn, settings, models=models(pg, md))
        assert next(s.sql.split(" ON ")[0] for s in prepared.plan.statements) == (
            f'CREATE UNIQUE INDEX CONCURRENTLY "{temporary}"'
        )
        # a writer repeats a key between planning and the build
        pg.execute("INSERT INTO accounts (owner_id, email, score) VALUES (8, 'user7@example.com', 1)")
        with pytest.raises(ApplyFailed) as failed:
            apply(conn, db.parse_url(pg.url, "test"), prepared.plan, settings=settings, desired=prepared.desired,
                  options=prepared.options, allow=ALL)  # fmt: skip
    assert "already been committed" in failed.value.message
    # the table kept its index all along: the old one is untouched, the broken copy is the temporary one
    assert pg.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_accounts_email'::regclass") is True
    assert pg.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = %s::regclass", (temporary,)) is False

    pg.execute("DELETE FROM accounts WHERE id = (SELECT max(id) FROM accounts)")
    with Writer(pg).running() as writer:
        prepared, applied = sync(pg, md, **online())
    assert prepared.plan.statements[0].sql == f'DROP INDEX CONCURRENTLY IF EXISTS "public"."{temporary}"'
    assert applied is not None and writer.errors == []
    assert max(writer.latencies) < LOCK_TIMEOUT + MARGIN
    assert rediff(pg, md, online=True) == []
    assert pg.scalar("SELECT indisunique AND indisvalid FROM pg_index WHERE indexrelid = 'ix_accounts_email'::regclass")
    assert pg.scalar("SELECT count(*) FROM pg_class WHERE relname = %s", (temporary,)) == 0


def test_a_step_after_the_transaction_that_hits_lock_timeout_is_retried_on_its_own(pg: TestDB) -> None:
    fill(pg)
    pg.execute("ALTER TABLE accounts ADD CONSTRAINT fk_accounts_owner FOREIGN KEY (owner_id) REFERENCES owners (id)")
    pg.execute("ALTER TABLE accounts ADD CONSTRAINT ck_accounts_score CHECK (score > 0)")
    pg.execute("ALTER TABLE accounts ALTER COLUMN email SET NOT NULL")
    md = adopt_bigint(pg, wanted())  # only the index changes: everything runs after the (empty) transaction
    holder = pg.connect()
    holder.execute("BEGIN")
    holder.execute("LOCK TABLE accounts IN SHARE UPDATE EXCLUSIVE MODE")  # blocks the build, not the writers
    release = threading.Timer(1.5, holder.commit)
    release.start()
    try:
        _prepared, applied = sync(pg, md, **online(lock_timeout=0.3, lock_retries=5))
    finally:
        release.join()
        holder.close()
    assert applied is not None and applied.attempts == 1  # the transaction itself was not retried
    assert rediff(pg, md, online=True) == []


def test_a_change_made_by_hand_while_the_online_steps_run_fails_the_apply_as_committed(pg: TestDB) -> None:
    """The online steps run after the commit, where the in-transaction verification cannot see them; the
    database is inspected once more after the last one, and a difference from the models is a failure of
    an apply whose change IS in place, never a success."""
    fill(pg)
    pg.execute("ALTER TABLE accounts ADD CONSTRAINT fk_accounts_owner FOREIGN KEY (owner_id) REFERENCES owners (id)")
    pg.execute("ALTER TABLE accounts ADD CONSTRAINT ck_accounts_score CHECK (score > 0)")
    pg.execute("ALTER TABLE accounts ALTER COLUMN email SET NOT NULL")
    pg.execute("CREATE TABLE regions (code text PRIMARY KEY, name text NOT NULL)")
    md = adopt_bigint(pg, wanted())  # the index change is left: it runs after the (empty) transaction
    Table("regions", md, Column("code", Text, primary_key=True), Column("name", Text, nullable=False))
    holder = pg.connect()
    holder.execute("BEGIN")
    holder.execute("LOCK TABLE accounts IN SHARE UPDATE EXCLUSIVE MODE")  # holds the build back, not the writers
    failures: list[BaseException] = []

    def run() -> None:
        try:
            sync(pg, md, **online(lock_timeout=20.0, lock_retries=0))
        except BaseException as exc:
            failures.append(exc)

    syncing = threading.Thread(target=run)
    syncing.start()
    try:
        _wait_for(pg, "CREATE INDEX CONCURRENTLY")
        # meanwhile someone relaxes a column of another managed table by hand
        pg.execute("ALTER TABLE regions ALTER COLUMN name DROP NOT NULL")
        holder.commit()
        syncing.join(30)
    finally:
        holder.close()
    assert len(failures) == 1 and isinstance(failures[0], CommittedApplyFailed), failures
    assert "still differs from the models" in failures[0].message and "regions" in failures[0].message
    # the online steps themselves finished: the new index is in place, under its own name
    assert pg.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_accounts_email'::regclass") is True
    assert pg.scalar("SELECT indnatts FROM pg_index WHERE indexrelid = 'ix_accounts_email'::regclass") == 2
    assert pg.scalar("SELECT count(*) FROM pg_class WHERE relname = %s", (rebuild_name("ix_accounts_email"),)) == 0
    assert rediff(pg, md, online=True) == ["AlterColumnNullability"]


def test_the_version_row_and_its_snapshot_record_the_schema_the_online_steps_left(pg: TestDB) -> None:
    """The row is written inside the transaction, before the concurrent build and the validations run; it
    must end up with the hash and snapshot of the finished schema, which the next look matches, and not of
    the in-between one (the index missing, the constraints NOT VALID)."""
    fill(pg)
    md = adopt_bigint(pg, wanted())
    _prepared, applied = sync(pg, md, version="2.0.0", **online())
    assert applied is not None and applied.outside and applied.version_id is not None
    after = prepare(pg, md, online=True)
    assert not after.diff.changes
    with pg.connect() as conn:
        row = versions.latest(conn)
        stored = snapshots.for_versions(conn, [applied.version_id])[applied.version_id]
        live = snapshots.without_own_tables(inspect(conn)).sorted()
        count = conn.execute("SELECT count(*) FROM schema_snapshots WHERE version_id = %s", (applied.version_id,))
        assert count.fetchone() == (1,)
    assert row is not None and row.id == applied.version_id
    assert row.schema_hash == applied.schema_hash == after.diff.source_hash
    assert stored.hash() == live.hash()
    accounts = next(t for t in stored.tables if t.name == "accounts")
    assert "ix_accounts_email" in {i.name for i in accounts.indexes}
