"""Credentials are masked where they used to be echoed, and the models cache keeps none (issue 13, point 10).

Found by a hostile tester: a database URL that fails to parse had its password quoted in the error;
`config` printed the credentials inside the health-check and S3 endpoint URLs; the models cache kept
a plain SHA-256 of the database URL (a password could be tested against it offline) in files any
local user could read.
"""

from __future__ import annotations

import hashlib
import json
import stat
import sys
from pathlib import Path

import pytest

from schemasync import engine
from schemasync.config import load_settings
from schemasync.schema import devdb, recall
from tests.conftest import TestDB

MODELS_READING_THE_URL = """
import os
from sqlalchemy import Column, Integer, MetaData, Table

metadata = MetaData()
SCHEMA_HINT = os.environ.get("DATABASE_URL", "")
Table("accounts", metadata, Column("id", Integer, primary_key=True))
"""


def test_a_password_that_fails_to_parse_is_not_echoed(cli) -> None:  # type: ignore[no-untyped-def]
    for url in (
        "postgresql://postgres@127.0.0.1:5432/postgres?password=Zq9Secret!%zz",
        "postgresql://postgres:Zq9Secret!%zz@127.0.0.1:5432/postgres",
    ):
        result = cli("status", "--database-url", url)
        assert result.code == 1 and "cannot be parsed" in result.stderr, result.output
        assert "Zq9Secret" not in result.output


def test_config_masks_credentials_inside_service_urls(cli) -> None:  # type: ignore[no-untyped-def]
    env = {
        "SCHEMASYNC_HEALTH_CHECK_URL": "https://bob:Hc5ecretPw@health.example/check?token=Tok3nSecret&x=1",
        "SCHEMASYNC_S3_ENDPOINT_URL": "http://minio:S3pwSecret@s3.example:9000",
    }
    for args in (("config",), ("config", "--json")):
        result = cli(*args, env=env)
        assert result.code == 0, result.output
        for secret in ("Hc5ecretPw", "Tok3nSecret", "S3pwSecret"):
            assert secret not in result.output, args
        assert "s3.example:9000" in result.output and "health.example/check" in result.output


def test_the_models_cache_is_private_and_holds_no_hash_of_the_password(
    pg: TestDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "urlmodels.py").write_text(MODELS_READING_THE_URL)
    (project / "pyproject.toml").write_text(
        '[project]\nversion = "1.0.0"\n[tool.schemasync]\nmodels = "urlmodels:metadata"\n'
    )
    url = pg.url.replace("postgres@", "postgres:Cache-Pa55word@")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.syspath_prepend(str(project))
    sys.modules.pop("urlmodels", None)
    settings = load_settings({"project_dir": project}).settings
    with pg.connect() as conn:
        engine.load_models(conn, settings)

    cache = project / engine.CACHE_DIR
    files = [p for p in cache.rglob("*") if p.is_file()]
    assert any(p.name.startswith("models-") for p in files) and any(p.name.startswith("desired-") for p in files)
    for path in [cache, cache.parent, *files]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
    text = "\n".join(p.read_bytes().decode(errors="replace") for p in files)
    for guessable in (url, url.replace("postgres:", "postgresql:", 1)):
        assert hashlib.sha256(guessable.encode()).hexdigest() not in text
    assert "Cache-Pa55word" not in text
    [entry] = [json.loads(p.read_text()) for p in files if p.name.startswith("models-")]
    assert set(entry["env"]) == {"DATABASE_URL"}, "the variable the models read is still tracked"
    with pg.connect() as conn:
        context = devdb.choose(conn, settings).key_material()  # the same dev database choice as the load's
        assert recall.recall(cache, conn, "urlmodels:metadata", project, context=context) is not None, (
            "and the entry still serves"
        )
