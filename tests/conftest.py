"""Shared fixtures: a fresh PostgreSQL database per test, and running the CLI as a user would.

Tests talk to the real server on 127.0.0.1:5432 (override with SCHEMASYNC_TEST_ADMIN_URL). Every
database a test creates is named `sstest_<random>` and dropped afterwards; no other database is
touched. Heavier real components (the S3 endpoint, the Prefect API server, a password-protected
PostgreSQL) live in their own fixture modules under `tests/fixtures/` and start on first use.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

ADMIN_URL = os.environ.get("SCHEMASYNC_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

pytest_plugins = ["tests.fixtures.pg", "tests.fixtures.s3", "tests.fixtures.prefect_server"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--regen-golden",
        action="store_true",
        default=False,
        help="rewrite tests/engine/golden/*/expected.sql from the current engine (review with git diff)",
    )


def _admin() -> psycopg.Connection:
    return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)


def make_database(prefix: str = "sstest") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(name: str) -> None:
    assert name.startswith("sstest"), "tests only ever drop their own databases"
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def url_for(name: str) -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


@dataclass(frozen=True)
class TestDB:
    """A database created for one test."""

    __test__ = False  # a fixture value, not a test class

    name: str
    url: str

    def connect(self, **kwargs: object) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True, **kwargs)  # type: ignore[arg-type]

    def execute(self, statement: str, params: object = None) -> list[tuple[object, ...]]:
        with self.connect() as conn:
            cur = conn.execute(statement, params)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []

    def scalar(self, statement: str, params: object = None) -> object:
        rows = self.execute(statement, params)
        return rows[0][0] if rows else None


@pytest.fixture
def pg() -> Iterator[TestDB]:
    """A fresh, empty database on the local PostgreSQL, dropped after the test."""
    name = make_database()
    try:
        yield TestDB(name, url_for(name))
    finally:
        drop_database(name)


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run `schemasync ...` in a subprocess, as a user would, in a project directory of the test's own.

    A subprocess (not CliRunner) because exit codes, stderr, tracebacks and the absence of secrets
    must be checked exactly as a shell sees them.
    """
    project = tmp_path / "project"
    project.mkdir()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("SCHEMASYNC_", "DATABASE_URL", "PROD_"))}
    base_env.update({"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "NO_COLOR": "1", "COLUMNS": "200", "TERM": "dumb"})

    def run(
        *args: str,
        env: dict[str, str] | None = None,
        input: str | None = None,
        cwd: Path | None = None,
        timeout: float = 120,
    ) -> Result:
        proc = subprocess.run(
            [sys.executable, "-m", "schemasync", *args],
            check=False,
            cwd=cwd or project,
            env={**base_env, **(env or {})},
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    run.project = project  # type: ignore[attr-defined]
    return run
