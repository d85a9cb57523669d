"""A cold fleet drift check (issue 16): the models materialised once in a dev database vs once per database.

Builds `--databases` databases (created and dropped here) of `--tables` tables each
(`bench.common.wide_schema_ddl`, models `bench.bench_inspect.wide_models`), and a login role made for
the run (dropped afterwards) with CREATE on each of them and on a dev database, but not CREATEDB, so
that without `dev-url` the default is today's materialisation in each target's scratch schemas.
Then, in the same run, `schemasync.drift.check_targets` (what `schemasync drift --targets` runs) over
the whole fleet, each variant `--runs` times with a fresh project cache (cold):
- per database: no dev-url: the models are materialised in every target;
- dev database: SCHEMASYNC_DEV_URL set: materialised once, every target only inspected.
Prints the medians and their ratio (expect the dev database several times faster).

Run by hand on a quiet machine: `.venv/bin/python -m bench.bench_fleet [--databases 50] [--tables 100]
[--runs 3]`; copy the figures into bench/RESULTS.md with the machine they were measured on.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from bench.bench_drift import MODELS, fleet
from bench.common import ADMIN_URL


@contextmanager
def checker_role(urls: list[str], dev_url: str) -> Iterator[str]:
    """A role with CREATE on every database of the fleet and on the dev database, not CREATEDB; dropped after."""
    role = f"ssbench_fleet_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN NOCREATEDB NOSUPERUSER")
        for url in [*urls, dev_url]:
            admin.execute(f'GRANT CONNECT, CREATE ON DATABASE "{url.rsplit("/", 1)[1]}" TO {role}')
    try:
        yield role
    finally:
        for url in [*urls, dev_url]:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"DROP OWNED BY {role}")
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f"DROP ROLE {role}")


def as_role(url: str, role: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{role}@{rest.split('@', 1)[-1]}"


def check_fleet(project: Path, urls: list[str], role: str, dev_url: str | None) -> float:
    """One cold `check_targets` over the fleet; seconds. Fails loudly if a target could not be checked."""
    from schemasync import drift

    shutil.rmtree(project / ".schemasync", ignore_errors=True)
    environ = {f"BENCH_FLEET_{i}": as_role(url, role) for i, url in enumerate(urls)}
    if dev_url is not None:
        environ["SCHEMASYNC_DEV_URL"] = as_role(dev_url, role)
    targets = drift.parse_targets(
        [{"name": f"db{i}", "url_env": f"BENCH_FLEET_{i}", "project_dir": str(project)} for i in range(len(urls))],
        origin="bench",
    )
    started = time.perf_counter()
    results = drift.check_targets(targets, environ=environ)
    seconds = time.perf_counter() - started
    failed = [
        (r.target, r.error) for r in results if r.status not in (drift.DriftStatus.IN_SYNC, drift.DriftStatus.DRIFTED)
    ]
    if failed:
        raise SystemExit(f"targets could not be checked: {failed}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", type=int, default=50)
    parser.add_argument("--tables", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, fleet(args.databases + 1, args.tables, 0) as urls:
        dev_url, targets = urls[0], urls[1:]  # the dev database: one more empty-able database of the fleet's server
        with psycopg.connect(dev_url, autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        project = Path(tmp) / "project"
        project.mkdir()
        (project / "pyproject.toml").write_text('[tool.schemasync]\nmodels = "fleetmodels:metadata"\n')
        (project / "fleetmodels.py").write_text(MODELS.format(tables=args.tables))
        from schemasync import drift
        from schemasync.config import load_settings

        drift.models_for(load_settings({"project_dir": project}, {}).settings)  # import and compile outside the timing
        with checker_role(targets, dev_url) as role:
            per_database = [check_fleet(project, targets, role, None) for _ in range(args.runs)]
            dev_database = [check_fleet(project, targets, role, dev_url) for _ in range(args.runs)]
    per, dev = statistics.median(per_database), statistics.median(dev_database)
    print(f"cold fleet drift check, {args.databases} databases x {args.tables} tables, median of {args.runs}:")
    print(f"  per-database materialisation: {per:8.2f} s  {[round(s, 2) for s in per_database]}")
    print(f"  dev database:                 {dev:8.2f} s  {[round(s, 2) for s in dev_database]}")
    print(f"  ratio: {per / dev:.1f}x")


if __name__ == "__main__":
    main()
