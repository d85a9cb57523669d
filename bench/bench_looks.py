"""The read-only looks (`status`, `check`, `diff`) with models, on a 1,000-table database, end to end.

Whole commands, as a user runs them, in a project whose models match the database:
- recalled: nothing the models' import read has changed since the last look (`schema/recall.py`),
  so the models are not imported at all;
- re-imported: a model file changed without changing the schema (a comment), so the models are
  imported and their DDL compiled, but the desired schema comes from the DDL cache;
- cold: the first look after the models changed the schema (materialised in scratch schemas).

Run by hand: `python -m bench.bench_looks [--tables 1000] [--runs 5]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from bench.common import scratch_database, wide_schema_ddl


def models_source(tables: int) -> str:
    lines = [
        "from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, Integer, MetaData, String, Table, text",
        "metadata = MetaData()",
    ]
    for i in range(tables):
        name, parent = f"t{i:05d}", f"t{(i + 1) % tables:05d}"
        lines.append(
            f"Table('{name}', metadata, Column('id', BigInteger, primary_key=True),"
            f" Column('parent_id', BigInteger, ForeignKey('{parent}.id', name='fk_{name}_parent', use_alter=True)),"
            f" Column('name', String(100), nullable=False),"
            f" Column('created_at', DateTime(timezone=True), server_default=text('now()')),"
            + "".join(f" Column('c{j}', Integer)," for j in range(6))
            + f" Index('ix_{name}_name', 'name'))"
        )
    return "\n".join(lines) + "\n"


def run(command: list[str], env: dict[str, str], cwd: Path) -> float:
    t0 = time.perf_counter()
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if result.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(command)} failed: {result.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with scratch_database() as url, tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "bigapp").mkdir()
        (project / "bigapp" / "__init__.py").write_text("")
        models = project / "bigapp" / "models.py"
        models.write_text(models_source(args.tables))
        (project / "pyproject.toml").write_text(
            '[project]\nversion = "1.0.0"\n[tool.schemasync]\nmodels = "bigapp.models:metadata"\n'
        )
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(wide_schema_ddl(args.tables, rows=10))
        env = {**os.environ, "DATABASE_URL": url, "NO_COLOR": "1"}
        cli = [sys.executable, "-m", "schemasync"]
        cold = run([*cli, "check"], env, project)
        results: dict[str, list[float]] = {}
        for look in ("status", "check", "diff"):
            run([*cli, look], env, project)
            results[f"{look}, recalled"] = [run([*cli, look], env, project) for _ in range(args.runs)]
        reimported = []
        for n in range(args.runs):
            models.write_text(models.read_text() + f"# edit {n}\n")
            reimported.append(run([*cli, "check"], env, project))
        results["check, re-imported (DDL cache hit)"] = reimported
    print(f"{args.tables} tables; check, cold (models materialised): {cold:.2f}s")
    for label, times in results.items():
        print(f"{label:<40} median {statistics.median(times):.2f}s, min {min(times):.2f}s")


if __name__ == "__main__":
    main()
