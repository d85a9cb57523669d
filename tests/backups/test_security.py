"""Issue 13, backups and restore: what a hostile bucket, a curious local user or a wrong backup cannot do."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from schemasync import pgtools
from tests.fixtures.pg import PasswordServer, _bindir

PYPROJECT = '[project]\nname = "shop"\nversion = "1.2.0"\n'


def spying_tools(directory: Path, log_dir: Path) -> None:
    """pg_dump and pg_restore wrappers that record the environment they were started with, then run the real one."""
    directory.mkdir()
    log_dir.mkdir()
    for name in ("pg_dump", "pg_restore"):
        real = f"{_bindir()}/{name}"  # the programs of the private server's own release
        script = directory / name
        script.write_text(f'#!/bin/sh\nenv -0 > "{log_dir}/{name}-$$.env"\nexec "{real}" "$@"\n')
        script.chmod(0o755)


def test_pg_dump_and_pg_restore_get_no_secret_in_their_environment(  # type: ignore[no-untyped-def]
    cli, password_pg: PasswordServer, tmp_path: Path
) -> None:
    (cli.project / "pyproject.toml").write_text(PYPROJECT)
    spies, seen = tmp_path / "spy-bin", tmp_path / "seen"
    spying_tools(spies, seen)
    secrets = {
        "DATABASE_URL": password_pg.url("postgres"),
        "SCHEMASYNC_DEPLOY_DATABASE_URL": "postgresql://deployer:Dep10y-S3cret@db.example/prod",
        "PROD_DB_PASSWORD": "Pr0d-Pa55w0rd-S3cret",
        "AWS_SECRET_ACCESS_KEY": "AwsS3cretAccessKeyValue0123456789",
        "SOME_CI_TOKEN": "ci-T0ken-S3cret",
    }
    env = {**secrets, "SCHEMASYNC_PG_BIN_DIR": str(spies)}
    assert cli("backup", env=env).code == 0
    restored = cli("restore", "latest", "--yes", env=env)
    assert restored.code == 0, restored.output

    started = {p.name.split("-")[0] for p in seen.iterdir()}
    assert started == {"pg_dump", "pg_restore"}  # --version probes, the dump, --list and the restore itself
    values = [*secrets.values(), password_pg.password]
    for recorded in seen.iterdir():
        child = dict(line.split("=", 1) for line in recorded.read_text().split("\0") if "=" in line)
        assert not set(secrets) & set(child), recorded.name
        assert not [v for v in child.values() if any(s in v for s in values)], recorded.name
        assert "PGPASSWORD" not in child
    through_passfile = {p.name.split("-")[0] for p in seen.iterdir() if "PGPASSFILE=" in p.read_text()}
    assert through_passfile == {"pg_dump", "pg_restore"}  # the dump and the restore did run, and connected


def test_an_inherited_pgpassword_goes_into_the_passfile(tmp_path: Path) -> None:
    from schemasync.db import parse_url
    from tests.backups.helpers import make_settings

    target = parse_url("postgresql://app@db.example/shop", "test")
    os.environ["PGPASSWORD"] = "Inher1ted-S3cret"
    try:
        with pgtools.client_env(target, make_settings(tmp_path), application_name="test") as (env, _):
            assert "PGPASSWORD" not in env
            passfile = Path(env["PGPASSFILE"])
            assert passfile.read_text() == "*:*:*:*:Inher1ted-S3cret\n"
            assert stat.S_IMODE(passfile.stat().st_mode) == 0o600
    finally:
        del os.environ["PGPASSWORD"]
