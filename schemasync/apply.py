"""Running a plan: all or nothing, under the change lock, with both timeouts, recorded in the same transaction.

The executor belongs to the library, so the CLI and the Prefect flows run plans the same way:

1. refuse hazards the caller did not allow (before touching the database);
2. take schemasync's session-level advisory lock (one change at a time per database);
3. re-inspect and refuse a stale plan: the database must still hash to what the plan was made from;
4. run the statements that must precede the transaction (rare: enum labels a later statement uses);
5. in ONE transaction: every transactional statement, each under its own lock/statement timeout;
   then inspect inside the transaction and compare with the models (a mismatch rolls everything
   back); then the `schema_versions` row; then COMMIT;
6. run what must follow the transaction (CREATE INDEX CONCURRENTLY, online validation, the steps of
   an online plan), each on its own under its own lock_timeout, retried `lock_retries` times after a
   lock timeout (its `undo` first); then inspect again: the database must match the models, else fail
   loudly (the next plan resumes from what the catalog shows: plan/online.py); the version row's hash and
   snapshot are then brought up to that result (`versions.settle`), so they never record the in-between schema.

A statement that hits lock_timeout rolls the transaction back; with `lock_retries` the whole
transaction is retried after a pause that doubles each time. Any other failure rolls back and says
plainly that nothing was changed.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace

import psycopg
from psycopg import errors as pgerrors
from psycopg.pq import TransactionStatus

from schemasync import db as dbmod
from schemasync import secrets
from schemasync.config import Settings
from schemasync.diff import CompareOptions, Diff, analyse
from schemasync.diff.summary import summary_lines
from schemasync.errors import ApplyFailed, CommittedApplyFailed, Refused
from schemasync.history import versions
from schemasync.plan import locks, policy
from schemasync.plan.hazards import HazardKind
from schemasync.plan.model import Plan, Statement
from schemasync.schema.inspect import inspect
from schemasync.schema.model import Schema

log = logging.getLogger(__name__)

RETRY_FIRST_PAUSE = 0.5  # seconds before the first retry after a lock timeout; doubles each time
RETRY_MAX_PAUSE = 8.0


@dataclass(frozen=True, slots=True)
class Applied:
    statements: int
    duration_ms: int
    version_id: int | None
    schema_hash: str
    attempts: int = 1
    outside: tuple[str, ...] = ()  # the statements that ran on their own, outside the transaction (first lines)


class StalePlan(Refused):
    """The database changed between planning and applying."""

    code = policy.STALE_PLAN.code


def apply(
    conn: psycopg.Connection,
    target: dbmod.Database,
    plan: Plan,
    *,
    settings: Settings,
    desired: Schema,
    options: CompareOptions,
    allow: Iterable[HazardKind] = (),
    record: versions.Record | None = None,
) -> Applied:
    """Run `plan` on the database `conn` is connected to (see the module docstring for the steps).

    `record` is the schema_versions row to write with the changes (status, hash, description,
    change count and duration are filled in here); None writes no row.
    """
    policy.refuse_hazards(plan.hazards, allow)
    before, inside, after = plan.parts()
    _autocommit(conn)
    dbmod.set_timeouts(conn, lock_timeout=settings.lock_timeout, statement_timeout=settings.statement_timeout)
    with dbmod.advisory_lock(conn, target, settings.advisory_lock_timeout):
        current, live = _refuse_stale(conn, plan, desired, options, settings)
        locks.refuse_oversized(conn, live, current, desired)
        started = time.monotonic()
        for n, statement in enumerate(before, 1):
            _run_alone(conn, statement, settings, n=n, total=len(plan.statements), committed=False)
        attempts = 0
        pause = RETRY_FIRST_PAUSE
        while True:
            attempts += 1
            try:
                version_id, schema_hash = _transaction(
                    conn,
                    plan,
                    inside,
                    settings=settings,
                    desired=desired,
                    options=options,
                    record=record,
                    started=started,
                    verify=not after,
                    offset=len(before),
                )
                break
            except _LockTimeout as exc:
                if attempts > settings.lock_retries:
                    raise exc.error from None
                log.info(
                    "lock_timeout on statement %d (%s); everything rolled back; retry %d of %d in %.1fs",
                    exc.number,
                    exc.statement.sql.splitlines()[0][:80],
                    attempts,
                    settings.lock_retries,
                    pause,
                )
                time.sleep(pause)
                pause = min(pause * 2, RETRY_MAX_PAUSE)
        offset = len(before) + len(inside)
        for n, statement in enumerate(after, offset + 1):
            _run_after(conn, statement, settings, n=n, total=len(plan.statements))
        if after:
            remaining = analyse(_inspect(conn, settings), desired, options)
            if not remaining.empty:
                raise CommittedApplyFailed(
                    "The plan ran (the transaction was committed and the statements after it ran), but the "
                    "database still differs from the models: " + "; ".join(summary_lines(remaining)) + ".",
                    "Run schemasync diff to see what is left; sync again to finish (an invalid index is rebuilt).",
                )
            schema_hash = remaining.source_hash
            if version_id is not None:
                versions.settle(conn, version_id, schema_hash)
    duration_ms = int((time.monotonic() - started) * 1000)
    outside = tuple(_first_sql_line(s) for s in (*before, *after))
    return Applied(len(plan.statements), duration_ms, version_id, schema_hash, attempts, outside)


def record_only(
    conn: psycopg.Connection,
    target: dbmod.Database,
    *,
    settings: Settings,
    current: Schema,
    desired: Schema,
    options: CompareOptions,
    record: versions.Record,
) -> int:
    """Record a version when the schema needs no change (the database was behind only on paper)."""
    _autocommit(conn)
    dbmod.set_timeouts(conn, lock_timeout=settings.lock_timeout, statement_timeout=settings.statement_timeout)
    source = analyse(current, desired, options).source_hash
    with dbmod.advisory_lock(conn, target, settings.advisory_lock_timeout), conn.transaction():
        live = analyse(_inspect(conn, settings), desired, options)
        live_hash = live.source_hash
        if not live.empty or live_hash != source:
            raise StalePlan(
                "The database schema changed while the version was being recorded; nothing was recorded.",
                "Run the command again.",
            )
        versions.ensure_table(conn)
        return versions.record(conn, replace(record, schema_hash=live_hash, changes=0))


# -- the pieces ---------------------------------------------------------------------------------


class _LockTimeout(Exception):
    def __init__(self, error: ApplyFailed, number: int, statement: Statement) -> None:
        super().__init__(str(error))
        self.error, self.number, self.statement = error, number, statement


def _autocommit(conn: psycopg.Connection) -> None:
    """Transactions are explicit here (CONCURRENTLY must run outside one)."""
    if conn.autocommit:
        return
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise ValueError("apply() needs a connection with no transaction open")
    conn.autocommit = True


def _inspect(conn: psycopg.Connection, settings: Settings) -> Schema:
    return inspect(conn, schemas=settings.include_schemas or None)


def _refuse_stale(
    conn: psycopg.Connection, plan: Plan, desired: Schema, options: CompareOptions, settings: Settings
) -> tuple[Schema, Diff]:
    current = _inspect(conn, settings)
    live = analyse(current, desired, options)
    if live.source_hash != plan.source_hash:
        raise StalePlan(
            "The database schema changed since this plan was made (another deployment or a manual change); "
            "nothing was changed.",
            "Run the command again to plan against the current schema.",
        )
    return current, live


def _timeouts(conn: psycopg.Connection, statement: Statement, settings: Settings, *, local: bool) -> None:
    lock = settings.lock_timeout if statement.lock_timeout is None else statement.lock_timeout
    stmt = settings.statement_timeout if statement.statement_timeout is None else statement.statement_timeout
    dbmod.set_timeouts(conn, lock_timeout=lock, statement_timeout=stmt, local=local)


def _transaction(
    conn: psycopg.Connection,
    plan: Plan,
    inside: tuple[Statement, ...],
    *,
    settings: Settings,
    desired: Schema,
    options: CompareOptions,
    record: versions.Record | None,
    started: float,
    verify: bool,
    offset: int,
) -> tuple[int | None, str]:
    total = len(plan.statements)
    committing = False
    created = False  # schema_versions, by this transaction
    try:
        with conn.transaction():
            last: tuple[float | None, float | None] | None = None
            for n, statement in enumerate(inside, offset + 1):
                wanted = (statement.lock_timeout, statement.statement_timeout)
                if wanted != last:
                    _timeouts(conn, statement, settings, local=True)
                    last = wanted
                try:
                    with conn.transaction():  # a savepoint, so the error is attributed to this statement
                        conn.execute(statement.sql)  # type: ignore[arg-type]
                except psycopg.Error as exc:
                    error = _failed(exc, statement, n, total, committed=False, settings=settings)
                    if isinstance(exc, pgerrors.LockNotAvailable):
                        raise _LockTimeout(error, n, statement) from None
                    raise error from None
            dbmod.set_timeouts(
                conn, lock_timeout=settings.lock_timeout, statement_timeout=settings.statement_timeout, local=True
            )
            check = analyse(_inspect(conn, settings), desired, options)
            if verify and not check.empty:
                raise ApplyFailed(
                    "The plan ran, but the result does not match the models: "
                    + "; ".join(summary_lines(check))
                    + ". The transaction was rolled back: nothing was changed.",
                    "This is a schemasync bug or an object schemasync does not manage getting in the way; "
                    "run schemasync diff --sql and report it.",
                )
            schema_hash = check.source_hash
            version_id = None
            if record is not None:
                # announced after COMMIT: said inside the transaction, it would be untrue after a rollback
                created = versions.ensure_table(conn, announce=False).created
                version_id = versions.record(
                    conn,
                    replace(
                        record,
                        status=versions.Status.APPLIED,
                        schema_hash=schema_hash,
                        description=record.description or plan.description or None,
                        changes=plan.change_count,
                        duration_ms=int((time.monotonic() - started) * 1000),
                    ),
                )
            committing = True  # leaving the block commits
    except psycopg.OperationalError as exc:
        if isinstance(exc, pgerrors.OutOfMemory) and not committing:
            raise ApplyFailed(
                f"The server ran out of lock table space while the plan's result was being checked and recorded "
                f"({_first_line(exc)}). The transaction was rolled back: nothing was changed.",
                locks.OUT_OF_LOCKS_HINT,
            ) from None
        if not _connection_lost(exc):
            raise
        if committing:
            raise ApplyFailed(
                f"The connection to the database was lost during COMMIT ({_first_line(exc)}): "
                "whether the change was committed is unknown.",
                "Once the database is reachable, run schemasync check (or history): the version row is written in "
                "the same transaction, so it is there exactly when the change is.",
            ) from None
        raise ApplyFailed(
            f"The connection to the database was lost while the plan's result was being checked "
            f"({_first_line(exc)}). PostgreSQL rolls back a transaction whose session ends, "
            "so nothing was changed.",
            "Once the database is reachable, run the command again: the plan is made anew.",
        ) from None
    if created:
        log.info("Created the %s table (it was missing).", versions.TABLE)
    return version_id, schema_hash


def _run_alone(
    conn: psycopg.Connection, statement: Statement, settings: Settings, *, n: int, total: int, committed: bool
) -> None:
    """A statement that cannot run in a transaction block, on its own (autocommit)."""
    _timeouts(conn, statement, settings, local=False)
    try:
        conn.execute(statement.sql)  # type: ignore[arg-type]
    except psycopg.Error as exc:
        raise _failed(exc, statement, n, total, committed=committed, settings=settings) from None
    finally:
        if not conn.closed:  # a terminated session: the error above says so
            dbmod.set_timeouts(conn, lock_timeout=settings.lock_timeout, statement_timeout=settings.statement_timeout)


def _run_after(conn: psycopg.Connection, statement: Statement, settings: Settings, *, n: int, total: int) -> None:
    """A statement after COMMIT, on its own, under its own (short) lock_timeout: a lock it cannot get soon is
    given up so the writers queued behind it go on, then asked for again after a pause that doubles, up to
    `lock_retries` times. Its `undo` first removes what a timed-out attempt left (an invalid index)."""
    pause = RETRY_FIRST_PAUSE
    log.info("Outside the transaction (%d of %d): %s", n, total, _first_sql_line(statement))
    for attempt in range(settings.lock_retries + 1):
        _timeouts(conn, statement, settings, local=False)
        try:
            if attempt and statement.undo:
                conn.execute(statement.undo)  # type: ignore[arg-type]
            conn.execute(statement.sql)  # type: ignore[arg-type]
            return
        except pgerrors.LockNotAvailable as exc:
            if attempt == settings.lock_retries:
                raise _failed(exc, statement, n, total, committed=True, settings=settings) from None
        except psycopg.Error as exc:
            raise _failed(exc, statement, n, total, committed=True, settings=settings) from None
        finally:
            if not conn.closed:  # a terminated session: the error above says so
                dbmod.set_timeouts(
                    conn, lock_timeout=settings.lock_timeout, statement_timeout=settings.statement_timeout
                )
        log.info("lock_timeout on statement %d; retry %d of %d in %.1fs", n, attempt + 1, settings.lock_retries, pause)
        time.sleep(pause)
        pause = min(pause * 2, RETRY_MAX_PAUSE)


def _first_sql_line(statement: Statement) -> str:
    flat = " ".join(statement.sql.split())
    return flat if len(flat) <= 120 else flat[:117] + "..."


def _first_line(exc: BaseException) -> str:
    lines = secrets.scrub(str(exc)).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _connection_lost(exc: psycopg.Error) -> bool:
    """The session is gone (terminated, server restarted, network down), not a statement that failed."""
    return isinstance(exc, psycopg.OperationalError) and (
        isinstance(exc, pgerrors.AdminShutdown | pgerrors.CrashShutdown | pgerrors.CannotConnectNow)
        or getattr(exc, "sqlstate", None) is None
        or str(getattr(exc, "sqlstate", "")).startswith("08")
    )


def _owner_refused(exc: psycopg.Error, statement: Statement) -> bool:
    """An ALTER ... OWNER TO (`plan/annotations.py`) refused for want of the role or of the rights to give to it."""
    return isinstance(exc, pgerrors.InsufficientPrivilege | pgerrors.UndefinedObject) and bool(
        re.match(r"ALTER\s.+\sOWNER TO\s", statement.sql, re.DOTALL)
    )


def _failed(
    exc: psycopg.Error, statement: Statement, n: int, total: int, *, committed: bool, settings: Settings
) -> ApplyFailed:
    diag = getattr(exc, "diag", None)
    message = (getattr(diag, "message_primary", None) if diag else None) or str(exc).strip().splitlines()[0]
    flat = " ".join(statement.sql.split())  # one paragraph: the statement on one line
    shown = flat if len(flat) <= 300 else flat[:297] + "..."
    where = f"Statement {n} of {total} failed: {secrets.scrub(message)} (while running: {shown})."
    if committed:
        outcome = (
            " It ran after the transaction, which had already been committed: the schema changes and the "
            "version row are in place, this statement's change is not."
        )
    elif statement.transactional:
        outcome = " The transaction was rolled back: nothing was changed."
    else:
        outcome = " It runs before the transaction, which was not started: nothing else was changed."
    if _connection_lost(exc):
        where = (
            f"The connection to the database was lost while running statement {n} of {total} "
            f"({secrets.scrub(message)}; while running: {shown})."
        )
        if not committed and statement.transactional:
            outcome = " PostgreSQL rolls back a transaction whose session ends, so nothing was changed."
        hint = (
            "The session was ended from outside (pg_terminate_backend, a server restart or failover) or the "
            "network failed; once the database is reachable, run the command again: the plan is made anew."
        )
    elif isinstance(exc, pgerrors.OutOfMemory) and "max_locks_per_transaction" in str(exc):
        where = (
            f"Statement {n} of {total} ran out of lock table space ({secrets.scrub(message)}; while running: "
            f"{shown}): the transaction holds a lock on every table it has changed so far, and the server's lock "
            "table, shared by all sessions, is full."
        )
        hint = locks.OUT_OF_LOCKS_HINT
    elif isinstance(exc, pgerrors.LockNotAvailable):
        hint = (
            f"Another session held a conflicting lock for longer than lock_timeout ({settings.lock_timeout:g}s). "
            "Run again when the table is less busy, raise SCHEMASYNC_LOCK_TIMEOUT, or set SCHEMASYNC_LOCK_RETRIES "
            "(lock-timeout, lock-retries in [tool.schemasync])."
        )
    elif _owner_refused(exc, statement):
        where = (
            f"Statement {n} of {total} failed: PostgreSQL refused to give an object to the role of the owner setting "
            f"({secrets.scrub(message)}; while running: {shown})."
        )
        hint = (
            "ALTER ... OWNER TO needs the role to exist, the role running schemasync to own the object and be a "
            "member of the new owner, and the new owner to have CREATE on the object's schema (a superuser needs "
            "none of it): create the role, GRANT it to the role schemasync connects as and GRANT it CREATE on the "
            "schema, or change or unset the owner setting (SCHEMASYNC_OWNER, owner in [tool.schemasync]); then run "
            "again."
        )
    elif isinstance(exc, pgerrors.QueryCanceled):
        hint = (
            f"The statement ran longer than statement_timeout ({settings.statement_timeout:g}s); raise "
            "SCHEMASYNC_STATEMENT_TIMEOUT (statement-timeout in [tool.schemasync])."
        )
    else:
        hint = "Fix the cause (the plan's hazards say what the data must satisfy) and run again."
    return (CommittedApplyFailed if committed else ApplyFailed)(where + outcome, hint)
