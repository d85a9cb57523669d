"""The embedded default: used when nothing is configured, never started when a database is."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TestDB


@pytest.fixture
def embedded_project(cli) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    """A project directory whose embedded server is stopped after the test."""
    project: Path = cli.project
    yield project
    pgdata = project / ".schemasync" / "pgdata"
    if (pgdata / "PG_VERSION").exists():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver  # type: ignore[import-untyped]

            pgserver.get_server(pgdata, cleanup_mode="stop").cleanup()


def test_no_database_configured_uses_the_embedded_server(cli, embedded_project: Path) -> None:  # type: ignore[no-untyped-def]
    (embedded_project / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0.3.0"\n')
    first = cli("setup")
    assert first.code == 0, first.output
    assert (
        "embedded PostgreSQL" in first.stderr
        and len([line for line in first.stderr.splitlines() if "embedded" in line]) == 1
    )
    assert (embedded_project / ".schemasync" / "pgdata" / "PG_VERSION").exists()

    status = cli("status", "--json")
    assert status.code == 0, status.output
    report = json.loads(status.stdout)
    assert report["database_version"] == "0.3.0" and "embedded" in report["database"]
    assert report["server_version"].startswith("16")


def test_a_configured_database_never_starts_the_embedded_server(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    result = cli("status", env={"DATABASE_URL": pg.url})
    assert result.code == 0
    assert "embedded" not in result.output
    assert not (cli.project / ".schemasync").exists()
