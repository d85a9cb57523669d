"""The read-only looks (`status`, `diff`, `check`) at 1,000 and 10,000 tables: wall time, peak memory, statements.

For each table count, a scratch database built from `wide_schema_ddl` (10 rows a table) and a project whose
generated models match it. Each look is a whole command, as a user runs it, in a fresh process:
- cold: the project's cache removed (`.schemasync/cache`), so the models are imported and materialised in
  scratch schemas (in groups that fit the server's lock table, `schema/chunks.py`);
- recalled: nothing the models' import read has changed, so the desired schema comes from the cache.
Peak memory is the child's own maximum resident set (`os.wait4`), so one command's figure is not hidden
by an earlier, bigger one. Statements are counted in a separate run of each look, with psycopg's
`Cursor.execute`/`executemany` wrapped (what reaches the server, each call once).

Run by hand: `.venv/bin/python -m bench.bench_load [--tables 1000 10000] [--runs 3] [--cold-runs 3]`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.bench_looks import models_source
from bench.common import build, scratch_database, wide_schema_ddl

LOOKS = ("status", "diff", "check")

COUNTING = """\
import runpy, sys
import psycopg
count = 0
def counted(original):
    def wrapper(self, *args, **kwargs):
        global count
        count += 1
        return original(self, *args, **kwargs)
    return wrapper
psycopg.Cursor.execute = counted(psycopg.Cursor.execute)
psycopg.Cursor.executemany = counted(psycopg.Cursor.executemany)
sys.argv = ['schemasync', *sys.argv[1:]]
try:
    runpy.run_module('schemasync', run_name='__main__')
except SystemExit:
    pass
print('STATEMENTS', count, file=sys.stderr)
"""


@dataclass
class Run:
    wall: float
    rss_mb: float
    code: int


def run(command: list[str], env: dict[str, str], cwd: Path) -> Run:
    """One command in a fresh process: its wall time and its own peak resident set."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        child = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - t0
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode not in (0, 2):  # 2: drift found, a normal answer of check/diff
            err.seek(0)
            raise SystemExit(f"{' '.join(command)} exited {child.returncode}: {err.read().decode()[-2000:]}")
    return Run(wall, usage.ru_maxrss / 1024, child.returncode)


def statements(look: str, env: dict[str, str], cwd: Path) -> int:
    done = subprocess.run(
        [sys.executable, "-c", COUNTING, look], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    return int(next(line.split()[1] for line in done.stderr.splitlines() if line.startswith("STATEMENTS")))


def measure(tables: int, runs: int, cold_runs: int) -> dict[str, tuple[list[Run], int]]:
    results: dict[str, tuple[list[Run], int]] = {}
    with scratch_database("bench_load") as url, tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "bigapp").mkdir()
        (project / "bigapp" / "__init__.py").write_text("")
        (project / "bigapp" / "models.py").write_text(models_source(tables))
        (project / "pyproject.toml").write_text(
            '[project]\nversion = "1.0.0"\n[tool.schemasync]\nmodels = "bigapp.models:metadata"\n'
        )
        started = time.perf_counter()
        build(url, wide_schema_ddl(tables, rows=10))
        print(f"{tables} tables: built in {time.perf_counter() - started:.0f}s", flush=True)
        env = {**os.environ, "DATABASE_URL": url, "NO_COLOR": "1"}
        cli = [sys.executable, "-m", "schemasync"]
        cache = project / ".schemasync" / "cache"
        for look in LOOKS:
            cold = []
            for _ in range(cold_runs):
                shutil.rmtree(cache, ignore_errors=True)
                cold.append(run([*cli, look], env, project))
                last = cold[-1]
                print(f"  {look}, cold: {last.wall:.2f}s {last.rss_mb:.0f} MB exit {last.code}", flush=True)
            shutil.rmtree(cache, ignore_errors=True)
            results[f"{look}, cold"] = (cold, statements(look, env, project))
            recalled = [run([*cli, look], env, project) for _ in range(runs)]
            results[f"{look}, recalled"] = (recalled, statements(look, env, project))
            print(f"  {look}, recalled: {statistics.median(r.wall for r in recalled):.2f}s", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tables", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold-runs", type=int, default=3)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}", flush=True)
    found = {tables: measure(tables, args.runs, args.cold_runs) for tables in args.tables}
    print(f"load average at end: {os.getloadavg()}")
    header = " | ".join(f"{t:,} tables: median wall, min, peak RSS, statements" for t in args.tables)
    print(f"| look | {header} |")
    for label in found[args.tables[0]]:
        cells = []
        for tables in args.tables:
            runs, sent = found[tables][label]
            walls = [r.wall for r in runs]
            rss = max(r.rss_mb for r in runs)
            cells.append(f"{statistics.median(walls):.2f} s, {min(walls):.2f} s, {rss:.0f} MB, {sent}")
        print(f"| `{label}` | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
