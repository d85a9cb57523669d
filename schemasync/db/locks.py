"""The run lock: one schemasync change at a time per database, and the size of the server's lock table."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg

from schemasync.db.connection import Database
from schemasync.errors import ExitCode, SchemasyncError

log = logging.getLogger(__name__)

# Key space for our session-level advisory lock: advisory locks are per database already, so one
# constant key means "one schemasync change at a time on this database".
LOCK_CLASS_ID = int.from_bytes(hashlib.sha256(b"schemasync").digest()[:4], "big", signed=True)
LOCK_OBJECT_ID = 1


class LockTimeout(SchemasyncError):
    exit_code = ExitCode.ERROR


@contextlib.contextmanager
def advisory_lock(conn: psycopg.Connection, db: Database, timeout: float) -> Iterator[None]:
    """Hold schemasync's session-level advisory lock on this database, polling with backoff.

    Session-level (not transaction-level) so that a CREATE INDEX CONCURRENTLY outside the transaction
    stays covered, and so a killed process releases it with its session: nothing to clean up by hand.
    """
    deadline = time.monotonic() + timeout
    delay = 0.05
    announced = False
    while True:
        got = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASS_ID, LOCK_OBJECT_ID)).fetchone()
        if got and got[0]:
            break
        holder = lock_holder(conn)
        if time.monotonic() >= deadline:
            raise LockTimeout(
                f"Another schemasync run holds the change lock on {db.display}{holder} and did not finish within {timeout:.0f}s; nothing was changed.",
                "Wait for it to finish and run again, or raise SCHEMASYNC_ADVISORY_LOCK_TIMEOUT (advisory-lock-timeout in [tool.schemasync]).",
            )
        if not announced:
            log.warning("waiting for another schemasync run on %s%s", db.display, holder)
            announced = True
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 2.0)
    try:
        yield
    finally:
        if not conn.closed:
            with contextlib.suppress(psycopg.Error):
                if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    conn.rollback()
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS_ID, LOCK_OBJECT_ID))


def lock_holder(conn: psycopg.Connection) -> str:
    """' (pid N, application X, since T)' for whoever holds our lock, or '' if nobody visible does."""
    row = conn.execute(
        """SELECT a.pid, a.application_name, a.backend_start FROM pg_locks l JOIN pg_stat_activity a USING (pid)
           WHERE l.locktype = 'advisory' AND l.classid::bigint = %s AND l.objid::bigint = %s AND l.granted
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())""",
        (LOCK_CLASS_ID & 0xFFFFFFFF, LOCK_OBJECT_ID),
    ).fetchone()
    if row is None:
        return ""
    return f" (pid {row[0]}, {row[1] or 'unknown application'}, connected {row[2]:%Y-%m-%d %H:%M:%S})"


@dataclass(frozen=True, slots=True)
class LockTable:
    """The server's shared lock table: room for about `capacity` locked objects, for all sessions together.

    PostgreSQL sizes it as max_locks_per_transaction x (server processes + prepared transactions); one
    transaction may use more than its share, but never more than the whole table ("out of shared memory").
    """

    max_locks_per_transaction: int
    processes: int  # max_connections + autovacuum workers + launcher + background workers + WAL senders + prepared

    @property
    def capacity(self) -> int:
        return self.max_locks_per_transaction * self.processes

    def describe(self) -> str:
        return (
            f"{self.capacity:,} locks (max_locks_per_transaction {self.max_locks_per_transaction} x "
            f"{self.processes} server processes and prepared transactions)"
        )

    def setting_for(self, locks: int) -> int:
        """The max_locks_per_transaction that would make room for `locks`, with a fifth to spare."""
        return max(self.max_locks_per_transaction + 1, -(-int(locks * 1.2) // self.processes))


_LOCK_SETTINGS = (
    "max_locks_per_transaction",
    "max_connections",
    "autovacuum_max_workers",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
)


def lock_table(conn: psycopg.Connection) -> LockTable:
    """Read the settings that size the lock table (pg_settings is readable by every role)."""
    rows: dict[str, int] = dict(
        conn.execute(
            "SELECT name, setting::int FROM pg_catalog.pg_settings WHERE name = ANY(%s)", (list(_LOCK_SETTINGS),)
        ).fetchall()
    )
    per = int(rows.get("max_locks_per_transaction", 64))
    processes = sum(int(rows.get(n, 0)) for n in _LOCK_SETTINGS[1:]) + 1  # + the autovacuum launcher
    return LockTable(per, max(processes, 1))
