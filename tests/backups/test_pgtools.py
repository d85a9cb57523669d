"""Choosing pg_dump / pg_restore among installed versions, and handing them a password safely."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from schemasync import pgtools
from schemasync.db import parse_url
from tests.backups.helpers import make_settings

INSTALLED = list(pgtools.candidates("pg_dump", pgtools.search_dirs(), None))
MAJORS = sorted({t.major for t in INSTALLED})


def fake_program(directory: Path, name: str, version: str) -> None:
    """A program that answers --version like an old PostgreSQL client would (none older is installed here)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) {version}'\n")
    path.chmod(0o755)


@pytest.mark.skipif(not MAJORS, reason="no pg_dump installed")
def test_prefers_the_major_that_matches_the_server() -> None:
    for major in MAJORS:
        tool = pgtools.find("pg_dump", major)
        assert tool.major == major
        assert tool.version.startswith(f"{major}.")


@pytest.mark.skipif(not MAJORS, reason="no pg_dump installed")
def test_an_older_server_gets_the_nearest_newer_pg_dump() -> None:
    tool = pgtools.find("pg_dump", MAJORS[0] - 1)
    assert tool.major == MAJORS[0]


def test_pg_restore_is_at_least_as_new_as_the_archive(tmp_path: Path) -> None:
    fake_program(tmp_path / "old", "pg_restore", "14.9")
    fake_program(tmp_path / "new", "pg_restore", "16.1")
    dirs = [str(tmp_path / "old"), str(tmp_path / "new")]
    assert pgtools.find("pg_restore", 14, dirs=dirs, path="").version == "14.9"
    assert pgtools.find("pg_restore", 14, minimum=16, dirs=dirs, path="").version == "16.1"


@pytest.mark.skipif(not MAJORS, reason="no pg_dump installed")
def test_only_older_versions_is_a_clear_error(tmp_path: Path) -> None:
    newest = MAJORS[-1]
    with pytest.raises(pgtools.ToolNotFound) as caught:
        pgtools.find("pg_dump", newest + 1)
    error = caught.value
    assert f"No pg_dump of PostgreSQL {newest + 1} or newer was found" in error.message
    assert "older than needed" in error.message
    assert f"postgresql-client-{newest + 1}" in (error.hint or "")


def test_an_old_pg_dump_on_path_is_refused(tmp_path: Path) -> None:
    fake_program(tmp_path, "pg_dump", "9.6.24")
    with pytest.raises(pgtools.ToolNotFound, match=r"only 9\.6\.24 \(.*pg_dump\), older than needed"):
        pgtools.find("pg_dump", 15, dirs=[], path=str(tmp_path))


def test_no_pg_dump_anywhere_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(pgtools.ToolNotFound) as caught:
        pgtools.find("pg_dump", 15, dirs=[str(tmp_path)], path="")
    assert caught.value.message.startswith("No pg_dump program was found")
    assert "apt-get install postgresql-client-15" in (caught.value.hint or "")
    assert "SCHEMASYNC_PG_BIN_DIR" in (caught.value.hint or "")


def test_configured_bin_dir_is_the_only_place_searched(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, pg_bin_dir=tmp_path / "bin")
    assert pgtools.search_dirs(settings) == [str(tmp_path / "bin")]


def test_password_goes_in_a_private_passfile_never_in_arguments_or_environment(tmp_path: Path) -> None:
    password = "p@ss:w\\rd-Secr3t"
    target = parse_url(
        "postgresql://app:p%40ss%3Aw%5Crd-Secr3t@db.example:6543/shop?sslmode=prefer&keepalives=1", "test"
    )
    settings = make_settings(tmp_path)
    os.environ["PGPASSWORD"] = "inherited-would-win"
    try:
        with pgtools.client_env(target, settings, application_name="test", options="-c lock_timeout=1000") as (
            env,
            args,
        ):
            assert "PGPASSWORD" not in env
            assert not any(password in value for value in env.values())
            assert not any(password in arg for arg in args)
            assert (env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGSSLMODE"]) == (
                "db.example",
                "6543",
                "app",
                "prefer",
            )
            assert env["PGOPTIONS"] == "-c lock_timeout=1000"
            assert args == ["--dbname=keepalives=1 dbname=shop"]
            passfile = Path(env["PGPASSFILE"])
            assert stat.S_IMODE(passfile.stat().st_mode) == 0o600
            assert stat.S_IMODE(passfile.parent.stat().st_mode) == 0o700
            assert passfile.read_text() == "*:*:*:*:p@ss\\:w\\\\rd-Secr3t\n"  # libpq's escaping of ':' and '\'
    finally:
        del os.environ["PGPASSWORD"]
    assert not passfile.exists() and not passfile.parent.exists()
