"""The longest wait of a busy writer while a change runs: online plans against today's plans (issue 18).

Run by hand on a quiet machine: `.venv/bin/python -m bench.bench_online [--rows 5000000]`. For each change
(NOT NULL, an index changed, a foreign key added, a check added) and each plan (`online = true`, and the
plain plan that runs everything in one transaction), it builds a scratch database with an `accounts` table
of `--rows` rows that differs from the models by that change only, starts a writer thread on its own
connection (an INSERT and an UPDATE by key in a loop, each timed), plans and applies through the library as
`schemasync sync` does, and reports the writer's longest statement while the change ran: how long the
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
from schemasync.plan import HazardKind
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
            conn.execute(BEFORE_INDEX_CHANGE if name == change == "index_change" else sql)  # type: ignore[arg-type]
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


def measure(rows: int, change: str, *, online: bool, lock_timeout: float) -> tuple[float, float]:
    """(the writer's longest statement, the apply's duration), in seconds."""
    with scratch_database("ssbench_online") as url, tempfile.TemporaryDirectory() as project:
        build(url, rows, change)
        settings = load_settings({"database_url": url, "project_dir": project}, environ={}).settings
        settings = settings.model_copy(update={"online": online, "lock_timeout": lock_timeout, "lock_retries": 5})
        md = models()
        with psycopg.connect(url, autocommit=True) as conn:
            wanted = engine.Models(desired(conn, md, cache_dir=None), rename_hints(md))
            prepared = engine.prepare(conn, settings, models=wanted)
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
        return max(writer.latencies), took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--lock-timeout", type=float, default=2.0, help="each online step's own (seconds)")
    args = parser.parse_args()
    print(f"accounts: {args.rows:,} rows; online steps' lock_timeout {args.lock_timeout:g}s")
    print(f"{'change':<14} {'plan':<8} {'longest write (s)':>18} {'apply (s)':>10}")
    for change in FINAL:
        for online in (True, False):
            longest, took = measure(args.rows, change, online=online, lock_timeout=args.lock_timeout)
            print(f"{change:<14} {'online' if online else 'plain':<8} {longest:>18.3f} {took:>10.2f}", flush=True)


if __name__ == "__main__":
    main()
