"""`schemasync status` on a 1,000-table database: wall time of the whole command, and its query count.

Run by hand: `.venv/bin/python -m bench.bench_status [--tables 1000] [--runs 10]`. Results go into
bench/RESULTS.md by hand (with the machine they were measured on).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import psycopg

from bench.common import scratch_database, wide_schema_ddl


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=10, help="rows per table")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with scratch_database() as url:
        started = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as conn:
            # one statement per transaction: built in one, 1,000 tables need more of the server's shared lock
            # table than is free while other sessions' tests run ('out of shared memory')
            for statement in wide_schema_ddl(args.tables, rows=args.rows).split(";\n"):
                conn.execute(statement)
        print(f"built {args.tables} tables in {time.perf_counter() - started:.1f}s")
        env = {**os.environ, "DATABASE_URL": url, "NO_COLOR": "1"}
        command = [sys.executable, "-m", "schemasync", "status", "--app-version", "1.0.0"]
        subprocess.run(command, env=env, check=True, capture_output=True)  # warm the OS caches
        walls = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            subprocess.run(command, env=env, check=True, capture_output=True)
            walls.append(time.perf_counter() - t0)
        baseline = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import schemasync.cli.commands"], env=env, check=True)
            baseline.append(time.perf_counter() - t0)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SELECT pg_stat_reset()")
        # Count statements the command sends: psycopg's own count of executes, via a query log.
        probe = (
            "import psycopg, runpy, sys\n"
            "count = 0\n"
            "orig = psycopg.Connection.execute\n"
            "def counting(self, *a, **k):\n"
            "    global count\n"
            "    count += 1\n"
            "    return orig(self, *a, **k)\n"
            "psycopg.Connection.execute = counting\n"
            "orig_c = psycopg.Cursor.execute\n"
            "def counting_c(self, *a, **k):\n"
            "    global count\n"
            "    count += 1\n"
            "    return orig_c(self, *a, **k)\n"
            "psycopg.Cursor.execute = counting_c\n"
            "sys.argv = ['schemasync', 'status', '--app-version', '1.0.0']\n"
            "try:\n"
            "    runpy.run_module('schemasync', run_name='__main__')\n"
            "except SystemExit:\n"
            "    pass\n"
            "print('QUERIES', count, file=sys.stderr)\n"
        )
        probe_run = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=False)
        queries = next(line.split()[1] for line in probe_run.stderr.splitlines() if line.startswith("QUERIES"))
    print(
        f"status, {args.tables} tables x {args.rows} rows: median {statistics.median(walls):.3f}s, min {min(walls):.3f}s over {args.runs} runs"
    )
    print(f"import of the CLI alone: median {statistics.median(baseline):.3f}s")
    print(
        f"statements sent by status: {queries} (Connection.execute + Cursor.execute calls, nested calls counted twice)"
    )


if __name__ == "__main__":
    main()
