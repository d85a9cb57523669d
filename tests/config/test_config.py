"""Settings resolution: precedence, provenance, version detection, bad values, secrets masked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemasync import db, secrets
from schemasync.config import describe, load_settings, parse_duration
from schemasync.errors import ConfigError


def write_project(path: Path, tool: str = "", version: str | None = "1.6.0") -> None:
    project = f'[project]\nname = "app"\nversion = "{version}"\n' if version else ""
    (path / "pyproject.toml").write_text(project + ("[tool.schemasync]\n" + tool if tool else ""))


def test_precedence_flag_env_dotenv_pyproject_default(tmp_path: Path) -> None:
    write_project(
        tmp_path, 'backup-dir = "from-pyproject"\ns3_prefix = "pp"\ns3_region = "eu-west-1"\nmodels = "a.b:Base"\n'
    )
    (tmp_path / ".env").write_text("SCHEMASYNC_S3_PREFIX=dotenv\nSCHEMASYNC_S3_REGION=eu-central-1\n")
    environ = {"SCHEMASYNC_S3_REGION": "us-east-1", "SCHEMASYNC_MODELS": "env.mod:Base"}
    loaded = load_settings({"project_dir": tmp_path, "models": "flag.mod:Base"}, environ)
    s = loaded.settings
    assert (s.models, s.s3_region, s.s3_prefix, str(s.backup_dir), s.lock_timeout) == (
        "flag.mod:Base",
        "us-east-1",
        "dotenv",
        "from-pyproject",
        5.0,
    )
    assert loaded.source_of("models") == "flag --models"
    assert loaded.source_of("s3_region") == "environment SCHEMASYNC_S3_REGION"
    assert loaded.source_of("s3_prefix") == ".env SCHEMASYNC_S3_PREFIX"
    assert loaded.source_of("backup_dir") == "pyproject.toml [tool.schemasync]"
    assert loaded.source_of("lock_timeout") == "default"


@pytest.mark.parametrize(
    ("files", "expected", "origin"),
    [
        ({"pyproject.toml": '[project]\nversion = "2.1.0"\n'}, "2.1.0", "pyproject.toml [project].version"),
        ({"package.json": json.dumps({"name": "web", "version": "1.6.0"})}, "1.6.0", "package.json version"),
        (
            {"pyproject.toml": '[project]\nversion = "3.0.0"\n', "package.json": '{"version": "9.9.9"}'},
            "3.0.0",
            "pyproject.toml [project].version",
        ),
        ({}, None, "default"),
    ],
)
def test_app_version_detection(tmp_path: Path, files: dict[str, str], expected: str | None, origin: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    loaded = load_settings({"project_dir": tmp_path}, {})
    assert loaded.settings.app_version == expected
    assert loaded.source_of("app_version") == origin


def test_app_version_flag_and_env_win_over_files(tmp_path: Path) -> None:
    write_project(tmp_path)
    assert load_settings({"project_dir": tmp_path}, {"SCHEMASYNC_APP_VERSION": "7.0"}).settings.app_version == "7.0"
    assert (
        load_settings(
            {"project_dir": tmp_path, "app_version": "8.0"}, {"SCHEMASYNC_APP_VERSION": "7.0"}
        ).settings.app_version
        == "8.0"
    )


def test_bad_values_name_the_value_and_its_origin(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(
            {"project_dir": tmp_path, "models": "not a spec"},
            {"SCHEMASYNC_LOCK_TIMEOUT": "soon", "SCHEMASYNC_ENV": "Prod"},
        )
    text = str(info.value)
    assert "--models" in text and "module:attribute" in text
    assert "SCHEMASYNC_LOCK_TIMEOUT" in text and "'soon'" in text
    assert "SCHEMASYNC_ENV" in text


def test_broken_pyproject_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\nversion = ")
    with pytest.raises(ConfigError, match=r"pyproject\.toml"):
        load_settings({"project_dir": tmp_path}, {})


@pytest.mark.parametrize(
    ("text", "seconds"), [("5", 5.0), ("500ms", 0.5), ("2min", 120.0), ("1h", 3600.0), ("30d", 2592000.0), (3, 3.0)]
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"])
def test_url_schemes_are_mapped_to_psycopg(scheme: str) -> None:
    target = db.parse_url(f"{scheme}://alice:pw%40x@db.example:6543/shop?sslmode=require", "test")
    assert target.parts["host"] == "db.example" and target.parts["port"] == "6543" and target.name == "shop"
    assert target.parts["password"] == "pw@x"
    assert target.sqlalchemy_url.startswith("postgresql+psycopg://")
    assert "pw" not in target.display and target.display == "alice@db.example:6543/shop"


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("mysql://u:p@h/db", "PostgreSQL only"),
        ("not a url", "not a URL"),
        ("postgresql://u:p@h:99999/db", "cannot be parsed"),
        ("postgresql://u:p@h:5432", "names no database"),
    ],
)
def test_malformed_urls(raw: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment) as info:
        db.parse_url(raw, "DATABASE_URL")
    assert "DATABASE_URL" in str(info.value)


def test_production_uses_prod_variables_only(tmp_path: Path) -> None:
    environ = {
        "DATABASE_URL": "postgresql://dev@devhost/dev",
        "PROD_DB_HOST": "prod.internal",
        "PROD_DB_USER": "deploy",
        "PROD_DB_NAME": "shop",
        "PROD_DB_PASS": "pr0d-Secret!",
    }
    loaded = load_settings({"project_dir": tmp_path, "env": "production"}, environ)
    target = db.resolve(loaded.settings, dict(loaded.sources))
    assert target.parts["host"] == "prod.internal" and target.name == "shop" and target.parts["port"] == "5432"
    assert target.parts["password"] == "pr0d-Secret!"
    assert "pr0d-Secret!" not in secrets.scrub(f"failed: {target.conninfo}")

    loaded = load_settings(
        {"project_dir": tmp_path, "env": "production"}, {"PROD_DATABASE_URL": "postgres://a:b@prod/x", **environ}
    )
    assert db.resolve(loaded.settings, dict(loaded.sources)).parts["host"] == "prod"

    with pytest.raises(ConfigError, match="No production database"):
        loaded = load_settings(
            {"project_dir": tmp_path, "env": "production"}, {"DATABASE_URL": "postgresql://dev@devhost/dev"}
        )
        db.resolve(loaded.settings, dict(loaded.sources))


def test_describe_masks_secrets(tmp_path: Path) -> None:
    loaded = load_settings(
        {"project_dir": tmp_path},
        {"DATABASE_URL": "postgresql://u:Hunter2-Secret@h/db", "PROD_DB_PASS": "another-Secret"},
    )
    text = repr(describe(loaded))
    assert "Hunter2-Secret" not in text and "another-Secret" not in text
    assert "postgresql://u:***@h/db" in text
