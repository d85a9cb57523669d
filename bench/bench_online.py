"""The longest wait of a busy writer while a change runs: online plans against today's plans (issue 18).

Run by hand on a quiet machine: `.venv/bin/python -m bench.bench_online [--rows 5000000]`. For each change
(NOT NULL, an index changed, a foreign key added, a check added) and each plan (`online = true`, and the
plain plan that runs everything in one transaction), it builds a scratch database with an `accounts` table
of `--rows` rows that differs from the models by that change only, starts a writer thread on its own
connection (an INSERT and an UPDATE by key in a loop, each timed), plans and applies through the library as
`schemasync sync` does (refusing to time a plan that does not make the change, and checking afterwards that
the database matches the models), and reports the writer's longest statement while the change ran: how long the
change kept the table from writers. It also reports the whole apply's duration. Figures go into
bench/RESULTS.md by hand.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import threading
import time

import psycopg
from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, Integer, MetaData, Table, Text

from bench.common import scratch_database
from schemasync import db, engine
from schemasync.apply import apply
from schemasync.config import load_settings
from schemasync.diff import analyse
from schemasync.plan import HazardKind, Plan
from schemasync.schema.inspect import inspect
from schemasync.schema.target import desired, rename_hints

# What the database lacks, per change: the SQL that brings it to the models except for that change.
FINAL = {
    "not_null": "ALTER TABLE accounts ALTER COLUMN email SET NOT NULL",
    "index_change": "CREATE INDEX ix_accounts_email ON accounts (email, owner_id)",
    "fk_add": "ALTER TABLE accounts ADD CONSTRAINT fk_accounts_owner FOREIGN KEY (owner_id) REFERENCES owners (id)",
    "check_add": "ALTER TABLE accounts ADD CONSTRAINT ck_accounts_score CHECK (score > 0)",
}
BEFORE_INDEX_CHANGE = "CREATE INDEX ix_accounts_email ON accounts (email)"


def models() -> MetaData:
    md = MetaData()
    Table("owners", md, Column("id", Integer, primary_key=True, autoincrement=False))
    accounts = Table(
        "accounts",
        md,
        Column("id", BigInteger, primary_key=True),
        Column("owner_id", Integer, ForeignKey("owners.id", name="fk_accounts_owner")),
        Column("email", Text, nullable=False),
        Column("score", Integer),
        CheckConstraint("score > 0", name="ck_accounts_score"),
    )
    Index("ix_accounts_email", accounts.c.email, accounts.c.owner_id)
    return md


def build(url: str, rows: int, change: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE owners (id integer PRIMARY KEY)")
        conn.execute("INSERT INTO owners SELECT g FROM generate_series(1, 1000) g")
        conn.execute("CREATE TABLE accounts (id bigserial PRIMARY KEY, owner_id integer, email text, score integer)")
        conn.execute(
            "INSERT INTO accounts (owner_id, email, score) SELECT 1 + g % 1000, 'user' || g || '@example.com', "
            f"1 + g % 100 FROM generate_series(1, {rows}) g"
        )
        for name, sql in FINAL.items():
            if name != change:
                conn.execute(sql)  # type: ignore[arg-type]
            elif name == "index_change":
                conn.execute(BEFORE_INDEX_CHANGE)
        conn.execute("VACUUM ANALYZE accounts")


class Writer(threading.Thread):
    """An INSERT and an UPDATE by key in a loop on its own connection; every statement timed."""

    def __init__(self, url: str, rows: int) -> None:
        super().__init__(daemon=True)
        self.url, self.rows = url, rows
        self.latencies: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            n = 0
            while not self.stop.is_set():
                n += 1
                for sql, params in (
                    ("INSERT INTO accounts (owner_id, email, score) VALUES (%s, %s, 1)", (1 + n % 1000, f"w{n}@x")),
                    ("UPDATE accounts SET score = score + 1 WHERE id = %s", (1 + random.randrange(self.rows),)),
                ):
                    started = time.monotonic()
                    conn.execute(sql, params)  # type: ignore[arg-type]
                    self.latencies.append(time.monotonic() - started)


# The statement that makes each change, in the plan's own text: the plain plan runs it in the transaction (and
# scans the table there, or adds the constraint NOT VALID and validates it in the same transaction; the index
# build reads the table); the online plan runs the second part after the commit.
SCANNING = {
    "not_null": ('ALTER COLUMN "email" SET NOT NULL', "VALIDATE CONSTRAINT"),
    "index_change": ('CREATE INDEX "ix_accounts_email"', "CREATE INDEX CONCURRENTLY"),
    "fk_add": ('ADD CONSTRAINT "fk_accounts_owner" FOREIGN KEY', 'VALIDATE CONSTRAINT "fk_accounts_owner"'),
    "check_add": ('ADD CONSTRAINT "ck_accounts_score" CHECK', 'VALIDATE CONSTRAINT "ck_accounts_score"'),
}


def check_plan(plan: Plan, change: str, *, online: bool) -> None:
    """Refuse to time a plan that would not make the change the row is about (a bench that measures a no-op)."""
    _before, inside, after = plan.parts()
    plain, online_step = SCANNING[change]
    if online:
        ok = any(online_step in s.sql for s in after)
    else:
        # a constraint may be added NOT VALID and validated in the same transaction: its lock is held for the scan
        made = [s.sql for s in inside if plain in s.sql]
        validated = any(online_step in s.sql for s in inside)
        ok = not after and bool(made) and (validated or all("NOT VALID" not in sql for sql in made))
    if not ok:
        shown = "; ".join(" ".join(s.sql.split())[:100] for s in plan.statements) or "(empty)"
        raise SystemExit(f"{change} ({'online' if online else 'plain'}): the plan does not make the change: {shown}")


def measure(rows: int, change: str, *, online: bool, lock_timeout: float) -> tuple[float, float, int]:
    """(the writer's longest statement, the apply's duration in seconds, the writer's statement count)."""
    with scratch_database("ssbench_online") as url, tempfile.TemporaryDirectory() as project:
        build(url, rows, change)
        settings = load_settings({"database_url": url, "project_dir": project}, environ={}).settings
        settings = settings.model_copy(update={"online": online, "lock_timeout": lock_timeout, "lock_retries": 5})
        md = models()
        with psycopg.connect(url, autocommit=True) as conn:
            wanted = engine.Models(desired(conn, md, cache_dir=None), rename_hints(md))
            prepared = engine.prepare(conn, settings, models=wanted)
            check_plan(prepared.plan, change, online=online)
            writer = Writer(url, rows)
            writer.start()
            time.sleep(0.5)
            started = time.monotonic()
            apply(conn, db.parse_url(url, "bench"), prepared.plan, settings=settings, desired=prepared.desired,
                  options=prepared.options, allow=frozenset(HazardKind))  # fmt: skip
            took = time.monotonic() - started
            time.sleep(0.5)
            writer.stop.set()
            writer.join()
            left = analyse(inspect(conn), prepared.desired, prepared.options)
            if not left.empty:
                raise SystemExit(f"{change}: the database still differs after the apply: {left.changes}")
        return max(writer.latencies), took, len(writer.latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--lock-timeout", type=float, default=2.0, help="each online step's own (seconds)")
    parser.add_argument("--changes", nargs="+", choices=list(FINAL), default=list(FINAL))
    args = parser.parse_args()
    print(f"accounts: {args.rows:,} rows; online steps' lock_timeout {args.lock_timeout:g}s")
    print(f"{'change':<14} {'plan':<8} {'longest write (s)':>18} {'apply (s)':>10} {'writes':>8}")
    for change in args.changes:
        for online in (True, False):
            longest, took, writes = measure(args.rows, change, online=online, lock_timeout=args.lock_timeout)
            plan = "online" if online else "plain"
            print(f"{change:<14} {plan:<8} {longest:>18.3f} {took:>10.2f} {writes:>8}", flush=True)


if __name__ == "__main__":
    main()
