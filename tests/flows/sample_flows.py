"""Small flows that exercise the Prefect foundation the production flow stands on.

They run in a thread of the test process (`helpers.in_thread`) or, where a separate process matters
(contention, server restarts), as `python -m tests.flows.sample_flows COMMAND ...`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import DEFAULT
from pydantic import BaseModel

from schemasync.db import parse_url
from schemasync.workflows.approval import ApprovalRequest, wait_for_approval
from schemasync.workflows.limits import one_change_at_a_time
from schemasync.workflows.results import local_result_storage

PLAN = """# Production change for shop on db.example:5432/shop

| version | 1.4.0 -> 1.5.0 |
|---|---|

```sql
ALTER TABLE orders ADD COLUMN note text;
```
"""
REQUEST = ApprovalRequest(
    database="app@db.example:5432/shop",
    environment="production",
    app_version="1.5.0",
    database_version="1.4.0",
    summary="1 change: add column orders.note",
    hazards=[],
    backup="s3://backups/shop/2026-11-26T120000.dump",
    plan_hash="abc123",
)


def _note(path: str | None, line: str) -> None:
    if path:
        with open(path, "a") as fh:
            fh.write(line + "\n")


@flow(name="schemasync-test-gate")
def gated(timeout: int = 30, poll_interval: int = 1, ledger: str | None = None) -> dict[str, object]:
    """Pause for approval; on approval 'apply' (one ledger line), on rejection do nothing."""
    answer = wait_for_approval(PLAN, request=REQUEST, timeout=timeout, poll_interval=poll_interval)
    if not answer.approve:
        return {"outcome": "rejected", **answer.model_dump()}
    _note(ledger, f"applied by {answer.approver}")
    return {"outcome": "applied", **answer.model_dump()}


class Ticket(BaseModel):
    ticket: int


@flow(name="schemasync-test-other-input")
def other_input(timeout: int = 30) -> int:
    """A paused run that wants some other input than schemasync's Approval form."""
    from prefect.flow_runs import pause_flow_run

    return pause_flow_run(wait_for_input=Ticket, timeout=timeout, poll_interval=1).ticket


@task(persist_result=True, cache_policy=DEFAULT - "ledger")
def backup(database: str, schema_hash: str, ledger: str) -> str:
    """Stands in for the production backup: its cache key is run + task source + database + schema hash."""
    _note(ledger, f"backup {database} {schema_hash}")
    return f"file:///backups/{database}-{schema_hash}-{time.time_ns()}.dump"


# retries=2, not 1: in Prefect 3.9.1 resuming a pause counts as a run (run_count + 1), and flow
# retries are counted against run_count, so the pause uses up one retry.
@flow(name="schemasync-test-backup-gate", retries=2, retry_delay_seconds=0)
def backup_then_gate(
    database: str, schema_hash: str, ledger: str, results: str, timeout: int = 30, fail_first_attempt: bool = True
) -> dict[str, object]:
    """Backup, approval, then (once) a failure after the approval so that Prefect retries the run."""
    uri = backup.with_options(result_storage=local_result_storage(results))(database, schema_hash, ledger)
    answer = wait_for_approval(f"Backup at {uri}", timeout=timeout, poll_interval=1)
    _note(ledger, f"attempt approved by {answer.approver}")
    if fail_first_attempt and Path(ledger).read_text().count("attempt approved") == 1:
        raise RuntimeError("apply failed on the first attempt")
    return {"backup": uri, "approver": answer.approver}


@flow(name="schemasync-test-hold")
def hold(database_url: str, seconds: float, log: str, timeout: float | None = None) -> str:
    """Take the database's change slot and hold it, writing enter/exit times to `log`."""
    with one_change_at_a_time(parse_url(database_url, "test"), timeout=timeout) as name:
        _note(log, f"enter {os.getpid()} {time.time()}")
        time.sleep(seconds)
        _note(log, f"exit {os.getpid()} {time.time()}")
    return name


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.flows.sample_flows")
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("gate")
    g.add_argument("--name", required=True)
    g.add_argument("--timeout", type=int, default=60)
    g.add_argument("--ledger")
    h = sub.add_parser("hold")
    h.add_argument("--name", required=True)
    h.add_argument("--database-url", required=True)
    h.add_argument("--seconds", type=float, required=True)
    h.add_argument("--log", required=True)
    h.add_argument("--timeout", type=float)
    args = parser.parse_args(argv)
    if args.command == "gate":
        state = gated.with_options(flow_run_name=args.name)(timeout=args.timeout, ledger=args.ledger, return_state=True)
    else:
        state = hold.with_options(flow_run_name=args.name)(
            args.database_url, args.seconds, args.log, args.timeout, return_state=True
        )
    result = state.result(raise_on_failure=False)
    print(json.dumps({"state": state.type.value, "message": state.message, "result": str(result)}), flush=True)
    return 0 if state.is_completed() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
