"""`status` stays fast as the database grows: the same statements for 2 tables as for 60, and no heavy imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import TestDB

# Runs the real command in a fresh interpreter, counting every statement psycopg sends, and reports which
# heavy libraries the run imported (not just the CLI's import: the whole command).
PROBE = """
import json, runpy, sys
import psycopg
count = 0
def counting(original):
    def execute(self, *args, **kwargs):
        global count
        count += 1
        return original(self, *args, **kwargs)
    return execute
psycopg.Connection.execute = counting(psycopg.Connection.execute)
psycopg.Cursor.execute = counting(psycopg.Cursor.execute)
sys.argv = ["schemasync", "status", "--json", "--app-version", "1.0.0"]
code = 0
try:
    runpy.run_module("schemasync", run_name="__main__")
except SystemExit as exc:
    code = exc.code or 0
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"prefect", "sqlalchemy", "boto3", "alembic"})
engine = sorted(m for m in sys.modules if m.startswith(("schemasync.engine", "schemasync.diff", "schemasync.plan")))
print(json.dumps({"code": code, "statements": count, "heavy": heavy, "engine": engine}), file=sys.stderr)
"""


def tables_ddl(first: int, last: int) -> str:
    return ";".join(
        f"CREATE TABLE t{i} (id bigserial PRIMARY KEY, parent_id bigint REFERENCES t{max(i - 1, 0)} (id),"
        f" name text NOT NULL); CREATE INDEX ix_t{i}_name ON t{i} (name); INSERT INTO t{i} (name) VALUES ('a'), ('b')"
        for i in range(first, last)
    )


def run_status(pg: TestDB, cwd: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCHEMASYNC_", "DATABASE_URL", "PROD_"))}
    env.update({"DATABASE_URL": pg.url, "NO_COLOR": "1"})
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=120
    )
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    assert report["code"] == 0, proc.stderr
    assert json.loads(proc.stdout)["tables"] == pg.scalar(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_versions'"
    )
    return report


def test_status_sends_the_same_statements_whatever_the_table_count(pg: TestDB, tmp_path: Path) -> None:
    pg.execute(tables_ddl(0, 2))
    small = run_status(pg, tmp_path)
    pg.execute(tables_ddl(2, 60))
    large = run_status(pg, tmp_path)
    assert small["statements"] == large["statements"], (small, large)
    assert large["statements"] <= 20
    assert large["heavy"] == [], "status imported a heavy library"
    # no models configured, nothing to compare: the diff and the planner are not even imported (~60 modules)
    assert large["engine"] == [], "status without models imported the engine"
