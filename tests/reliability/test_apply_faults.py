"""Faults while a plan is being applied (issue 9, items 1, 2 and 4), against a real PostgreSQL.

Each test stops the apply half-way through its transaction in a way that cannot race: a session of the
test holds a lock on `people`, so after `CREATE TABLE notes` ran, `ALTER TABLE people` waits. The fault is
injected while it waits, and every test ends the same way: the database is exactly as before (or fully
changed), `schema_versions` says what really happened, no change lock is left behind, and a plain re-run
applies the change.
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.conftest import TestDB
from tests.reliability.helpers import (
    change_lock_holders,
    cli_env,
    fully_applied,
    holding,
    spawn,
    start_app,
    untouched,
    waiting_backend,
)

pytestmark = pytest.mark.reliability


def rerun_applies(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    again = cli("sync", "--yes", env={"DATABASE_URL": pg.url})
    assert again.code == 0, again.output
    assert "waiting for another schemasync run" not in again.stderr, "a stale change lock was left behind"
    fully_applied(pg)


def test_connection_terminated_mid_plan_changes_nothing_and_says_so(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    start_app(pg, cli.project)
    with holding(pg):
        proc = spawn(cli.project, cli_env(pg, SCHEMASYNC_LOCK_TIMEOUT="60s"), "sync", "--yes")
        pid = waiting_backend(pg, proc=proc)  # CREATE TABLE notes ran; ALTER TABLE people waits
        assert change_lock_holders(pg) == [pid]
        pg.execute("SELECT pg_terminate_backend(%s)", (pid,))  # a DBA (or a failover) ends the session
        out, err = proc.communicate(timeout=60)

    assert proc.returncode == 1, out + err
    assert "The connection to the database was lost while running statement 2 of 3" in err
    assert "terminating connection due to administrator command" in err
    assert "nothing was changed" in err and "run the command again" in err
    assert "Traceback" not in out + err
    untouched(pg)
    assert change_lock_holders(pg) == []
    rerun_applies(cli, pg)


def test_a_lock_held_elsewhere_is_retried_with_backoff_then_given_up_cleanly(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    start_app(pg, cli.project)
    env = {"DATABASE_URL": pg.url, "SCHEMASYNC_LOCK_TIMEOUT": "200ms", "SCHEMASYNC_LOCK_RETRIES": "2"}
    with holding(pg):  # a long report keeps people busy for the whole run
        busy = cli("sync", "--yes", env=env)
    assert busy.code == 1, busy.output
    retries = [line for line in busy.stderr.splitlines() if line.startswith("lock_timeout on statement 2")]
    assert len(retries) == 2 and "retry 1 of 2 in 0.5s" in retries[0] and "retry 2 of 2 in 1.0s" in retries[1]
    assert "Statement 2 of 3 failed: canceling statement due to lock timeout" in busy.stderr
    assert "The transaction was rolled back: nothing was changed" in busy.stderr
    assert "held a conflicting lock for longer than lock_timeout (0.2s)" in busy.stderr
    assert "Traceback" not in busy.output
    untouched(pg)
    assert change_lock_holders(pg) == []

    # The same, but the other session finishes while the run backs off: a later attempt gets through.
    with holding(pg) as holder:
        proc = spawn(cli.project, cli_env(pg, **{**env, "SCHEMASYNC_LOCK_RETRIES": "6"}), "sync", "--yes")
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if line.startswith("lock_timeout on statement 2"):
                assert "retry 1 of 6" in line
                holder.commit()
                break
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, "".join(seen) + err
    assert "Applied 3 changes" in out
    fully_applied(pg)
    assert [s for _, s in pg.execute("SELECT schema_version, status FROM schema_versions ORDER BY id")] == [
        "initial",
        "applied",
    ], "one row for the one transaction that committed, none for the attempts rolled back"


def test_sigkill_mid_apply_leaves_no_lock_and_no_change(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    start_app(pg, cli.project)
    with holding(pg):
        proc = spawn(cli.project, cli_env(pg, SCHEMASYNC_LOCK_TIMEOUT="60s"), "sync", "--yes")
        pid = waiting_backend(pg, proc=proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        # The lock on people is still held: the orphaned backend must notice its client is gone on its own
        # (client_connection_check_interval) instead of waiting, holding the change lock and its locks.
        deadline = time.monotonic() + 15
        while pg.scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert pg.scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)) == 0, (
            "the killed run's backend still waits"
        )
        assert change_lock_holders(pg) == []
        untouched(pg)
    rerun_applies(cli, pg)
