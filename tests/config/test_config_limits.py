"""Settings no timer, port or file reader can use are configuration errors, not crashes (issue 13, point 13).

`lock-timeout = 1e400` is infinity in TOML and used to crash the first `SET lock_timeout` with an
OverflowError reported as "a bug in schemasync"; a pyproject.toml that is not UTF-8 crashed the same
way. Each bad value below must end in one paragraph naming the setting, exit code 1, no traceback.
"""

from __future__ import annotations

import pytest

from tests.conftest import TestDB

BAD_TOML_VALUES = [
    ("lock-timeout = 1e400", "lock_timeout"),
    ("lock-timeout = nan", "lock_timeout"),
    ("lock-timeout = -1", "lock_timeout"),
    ("lock-timeout = true", "lock_timeout"),
    ("statement-timeout = 99999999999999999999", "statement_timeout"),
    ('statement-timeout = "30d"', "statement_timeout"),  # PostgreSQL's limit is about 24.8 days
    ("approval-timeout = 1e300", "approval_timeout"),
    ("backup-max-age = inf", "backup_max_age"),
    ("prod-db-port = 70000", "prod_db_port"),
    ("backup-keep = 99999999999999999999999999", "backup_keep"),
    ("s3-multipart-chunksize = 99999999999999999999", "s3_multipart_chunksize"),
]


def _pyproject(table: str) -> str:
    return f'[project]\nname = "x"\nversion = "1.0.0"\n\n[tool.schemasync]\n{table}\n'


@pytest.mark.parametrize(("line", "setting"), BAD_TOML_VALUES, ids=[line for line, _ in BAD_TOML_VALUES])
def test_unusable_values_in_pyproject_are_config_errors(cli, pg: TestDB, line: str, setting: str) -> None:  # type: ignore[no-untyped-def]
    (cli.project / "pyproject.toml").write_text(_pyproject(line))
    result = cli("status", "--database-url", pg.url)
    assert result.code == 1, result.output
    assert "Invalid configuration" in result.stderr and setting in result.stderr, result.stderr
    assert "bug in schemasync" not in result.output and "Traceback" not in result.output


def test_a_duration_too_long_for_a_float_in_the_environment_is_a_config_error(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    result = cli("status", "--database-url", pg.url, env={"SCHEMASYNC_LOCK_TIMEOUT": "9" * 400})  # float() says inf
    assert result.code == 1, result.output
    assert "SCHEMASYNC_LOCK_TIMEOUT" in result.stderr and "bug in schemasync" not in result.output


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("pyproject.toml", b'[project]\nname = "caf\xe9"\n', "not UTF-8"),
        (".env", b"SCHEMASYNC_ENV=caf\xe9\n", "not UTF-8"),
        ("pyproject.toml", b"[tool]\nschemasync = 5\n", "tool.schemasync is not a table"),
        ("pyproject.toml", b'project = "x"\n', "project is not a table"),
    ],
)
def test_unreadable_settings_files_are_config_errors(cli, pg: TestDB, name: str, content: bytes, expected: str) -> None:  # type: ignore[no-untyped-def]
    (cli.project / name).write_bytes(content)
    result = cli("status", "--database-url", pg.url)
    assert result.code == 1, result.output
    assert expected in result.stderr and "bug in schemasync" not in result.output, result.stderr
    assert "Traceback" not in result.output
