"""Every command that writes the schema or schema_versions refuses to take the database back to an older version.

The database is at 2.0.0; the app says 1.9.0 and its models add a table, so each command has something it
would change. Each refusal must name the versions and --allow-downgrade, exit 3, and leave the schema and
schema_versions exactly as they were.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.cli.test_schema_commands import MODELS_V1, assert_clean, project, v2
from tests.conftest import TestDB
from tests.fixtures.prefect_server import PrefectServer


def _at_2_0_0(cli, pg: TestDB) -> dict[str, str]:  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": pg.url}
    project(cli, "2.0.0", MODELS_V1)
    assert cli("sync", "--yes", env=env).code == 0
    project(cli, "1.9.0", v2())
    return env


def _state(pg: TestDB) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    tables = pg.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
    rows = pg.execute("SELECT id, schema_version, status FROM schema_versions ORDER BY id")
    return tables, rows


def _assert_refused(result, before, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    assert result.code == 3, result.output
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("Error: [SS101] The database is at version 2.0.0, ahead of the app's 1.9.0"), result.output
    assert "Nothing was changed" in error and "--allow-downgrade" in error
    assert_clean(result)
    assert _state(pg) == before


@pytest.mark.parametrize(
    "command",
    [("setup",), ("sync", "--yes"), ("sync", "--yes", "--allow-destructive", "--no-backup"), ("push", "--force")],
)
def test_writing_commands_refuse_a_downgrade(cli, pg: TestDB, command: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    env = _at_2_0_0(cli, pg)
    before = _state(pg)
    _assert_refused(cli(*command, env=env), before, pg)


def test_allow_downgrade_lets_sync_apply(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    env = _at_2_0_0(cli, pg)
    assert cli("sync", "--yes", "--allow-downgrade", "--allow-destructive", "--no-backup", env=env).code == 0
    assert ("tags",) in _state(pg)[0]
    assert pg.execute("SELECT schema_version FROM schema_versions ORDER BY id DESC LIMIT 1") == [("1.9.0",)]


def test_versioned_sync_refuses_a_downgrade(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    env = _at_2_0_0(cli, pg)
    root = cli.project
    subprocess.run([sys.executable, "-m", "alembic", "init", "migrations"], cwd=root, check=True, capture_output=True)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'alembic-ini = "alembic.ini"\n')
    before = _state(pg)
    _assert_refused(cli("sync", "--yes", env=env), before, pg)


@pytest.mark.prefect
def test_production_refuses_a_downgrade(cli, pg: TestDB, prefect_server: PrefectServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _at_2_0_0(cli, pg)
    env = {"PROD_DATABASE_URL": pg.url, **prefect_server.client_env()}
    before = _state(pg)
    result = cli("production", "--approve", "--allow-local-backup", env=env, timeout=240)
    # Prefect's run log is streamed to stderr: it names the refusal without a traceback
    _assert_refused(result, before, pg)
    assert not list((cli.project / "backups").glob("*.dump")), "refused before the backup step"
