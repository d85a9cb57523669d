"""Issue 13, backups and restore: what a hostile bucket, a curious local user or a wrong backup cannot do."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from schemasync import pgtools
from tests.backups.test_restore import prepared
from tests.conftest import TestDB, drop_database, make_database, url_for
from tests.fixtures.pg import PasswordServer, _bindir
from tests.fixtures.s3 import S3Server

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


# -- 1. a hostile S3 manifest or key writes nothing, anywhere ---------------------------------------------------

NEWER = "20991231T235959Z"
HOSTILE_FILES = {
    "parent-dirs": "../../x/evil",
    "absolute": "{tmp}/x/abs-evil",
    "nul": "evil\x00name.dump",
    "newline": "evil\nname.dump",
    "backslash": "..\\..\\x\\evil.dump",
}


def _plant(client: Any, bucket: str, genuine_key: str, key: str, file: str) -> None:
    """A newer backup in the bucket: the genuine dump's bytes (so SHA-256 and size match) under `key`,
    with a manifest naming `file`."""
    manifest = json.loads(
        client.get_object(Bucket=bucket, Key=genuine_key.replace(".dump", ".manifest.json"))["Body"].read()
    )
    manifest.update(
        id=NEWER, file=file, started_at="2099-12-31T23:59:59+00:00", finished_at="2099-12-31T23:59:59+00:00"
    )
    client.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": genuine_key})
    client.put_object(Bucket=bucket, Key=key.replace(".dump", ".manifest.json"), Body=json.dumps(manifest).encode())


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.s3
@pytest.mark.parametrize("hostile", list(HOSTILE_FILES))
def test_a_tampered_s3_manifest_is_refused_before_anything_is_written(  # type: ignore[no-untyped-def]
    cli, pg: TestDB, s3_server: S3Server, s3_bucket: str, tmp_path: Path, hostile: str
) -> None:
    env = {"DATABASE_URL": pg.url, **s3_server.env(s3_bucket)}
    report = prepared(cli, pg, env)
    genuine_key = report["s3"].split("/", 3)[3]
    (tmp_path / "x").mkdir()  # a directory the attacker aims at
    file = HOSTILE_FILES[hostile].format(tmp=tmp_path)
    _plant(s3_server.client(), s3_bucket, genuine_key, genuine_key.replace(report["id"], NEWER), file)
    pg.execute("DELETE FROM orders")
    before = _tree(tmp_path)

    result = cli("restore", "latest", input="y\n", env=env)
    assert result.code == 3, result.output
    assert "altered or is not schemasync's" in result.stderr and "Nothing was restored" in result.stderr
    assert "Replace the contents" not in result.stderr  # refused before the prompt
    assert "Traceback" not in result.output
    assert _tree(tmp_path) == before  # not a byte written, inside the backup directory or out of it
    assert pg.scalar("SELECT count(*) FROM orders") == 0

    verify = cli("backups", "verify", NEWER, env=env)
    assert verify.code == 1 and "the manifest names the file" in verify.stdout


@pytest.mark.s3
def test_an_s3_key_that_gives_no_plain_file_name_is_refused(  # type: ignore[no-untyped-def]
    cli, pg: TestDB, s3_server: S3Server, s3_bucket: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": pg.url, **s3_server.env(s3_bucket)}
    report = prepared(cli, pg, env)
    genuine_key = report["s3"].split("/", 3)[3]
    key = genuine_key.replace(f"{report['id']}-v1.2.0", f"{NEWER}-v1.2.0\\..\\..\\evil")
    local = f"{pg.name}-development-{NEWER}-v1.2.0\\..\\..\\evil.dump"  # consistent with the key: still refused
    _plant(s3_server.client(), s3_bucket, genuine_key, key, local)
    before = _tree(tmp_path)

    result = cli("restore", f"s3://{s3_bucket}/{key}", "--yes", env=env)
    assert result.code == 3, result.output
    assert "does not give a plain backup file name" in result.stderr and "Traceback" not in result.output
    assert _tree(tmp_path) == before


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir()}


@pytest.mark.s3
@pytest.mark.parametrize("which", ["dump", "manifest"])
def test_an_s3_download_never_replaces_a_local_file_of_another_backup(  # type: ignore[no-untyped-def]
    cli, pg: TestDB, s3_server: S3Server, s3_bucket: str, which: str
) -> None:
    env = {"DATABASE_URL": pg.url, **s3_server.env(s3_bucket)}
    report = prepared(cli, pg, env)
    dump = Path(report["local"])
    mpath = dump.with_name(dump.name.replace(".dump", ".manifest.json"))
    if which == "dump":  # a local copy with other bytes under the name the download gets: maybe the only good one
        dump.write_bytes(b"PGDMP another copy, kept by the operator")
        local = dump
    else:  # only a manifest, naming other bytes
        dump.unlink()
        manifest = json.loads(mpath.read_text())
        manifest["sha256"] = "0" * 64
        mpath.write_text(json.dumps(manifest))
        local = mpath
    before = _files(dump.parent)
    pg.execute("DELETE FROM orders")

    result = cli("restore", report["s3"], "--yes", env=env)
    assert result.code == 3, result.output
    assert f"already holds {local}" in result.stderr and "never replaces a local copy" in result.stderr
    assert f"Move {dump.name} and {mpath.name}" in result.stderr and f"schemasync restore {dump})" in result.stderr
    assert "Nothing was restored" in result.stderr and "Traceback" not in result.output
    assert _files(dump.parent) == before  # not a byte written, nor a temporary left
    assert pg.scalar("SELECT count(*) FROM orders") == 0


@pytest.mark.s3
def test_an_s3_restore_uses_a_local_copy_with_the_manifests_bytes_as_it_is(  # type: ignore[no-untyped-def]
    cli, pg: TestDB, s3_server: S3Server, s3_bucket: str
) -> None:
    env = {"DATABASE_URL": pg.url, **s3_server.env(s3_bucket)}
    report = prepared(cli, pg, env)
    dump = Path(report["local"])
    mpath = dump.with_name(dump.name.replace(".dump", ".manifest.json"))
    mpath.unlink()  # a dump copied back by hand, without its manifest
    was = dump.stat()
    pg.execute("DELETE FROM orders")

    result = cli("restore", report["s3"], "--yes", env=env)
    assert result.code == 0, result.output
    assert f"Using the local copy {dump}" in result.stderr and "Downloading" not in result.stderr
    now = dump.stat()
    assert (now.st_ino, now.st_mtime_ns) == (was.st_ino, was.st_mtime_ns)  # the same file, not a replacement
    assert json.loads(mpath.read_text())["sha256"] == report["sha256"]
    assert stat.S_IMODE(mpath.stat().st_mode) == 0o600
    assert pg.scalar("SELECT count(*) FROM orders") > 0


def test_the_restore_flow_takes_backups_only_from_the_backup_directory_and_bucket(  # type: ignore[no-untyped-def]
    cli, pg: TestDB, tmp_path: Path
) -> None:
    from schemasync import db
    from schemasync.backups import restore
    from schemasync.backups.store import StoreError
    from tests.backups.helpers import make_settings

    report = prepared(cli, pg, {"DATABASE_URL": pg.url})
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    dump = Path(report["local"])
    for path in (dump, dump.with_name(dump.name.replace(".dump", ".manifest.json"))):
        (outside / path.name).write_bytes(path.read_bytes())
    (cli.project / "backups" / "link.dump").symlink_to(outside / dump.name)
    settings = make_settings(cli.project, url=pg.url, s3_bucket="ours")
    target = db.parse_url(pg.url, "test")

    for ref in (str(outside / dump.name), str(cli.project / "backups" / "link.dump"), "s3://theirs/x/y/z.dump"):
        with pytest.raises(StoreError, match=r"is not (a file of the backup directory|in the configured bucket)"):
            restore.prepare(ref, settings, target, confine=True)
    assert restore.prepare(str(outside / dump.name), settings, target).backup.id == report["id"]  # at a terminal


# -- 11. a backup of another database or environment ------------------------------------------------------------


def test_a_backup_of_another_database_needs_from_other_database(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    report = prepared(cli, pg, {"DATABASE_URL": pg.url})
    other = TestDB(name := make_database(), url_for(name))
    try:
        other.execute("CREATE TABLE keep (id int)")
        env = {"DATABASE_URL": other.url}
        refused = cli("restore", report["local"], "--yes", env=env)
        assert refused.code == 3, refused.output
        assert f"the backup is of the database {pg.name!r}, and the target is {other.name!r}" in refused.stderr
        assert "--from-other-database" in refused.stderr
        assert other.scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 1

        asked = cli("restore", report["local"], "--from-other-database", input="n\n", env=env)
        assert asked.code == 3
        summary = asked.stderr.split("SHA-256 matches the manifest\n", 1)[1]  # after the log line, the summary
        assert summary.startswith("FROM ANOTHER DATABASE")  # is its first line
        assert "This backup is from another database" in asked.stderr

        done = cli("restore", report["local"], "--from-other-database", "--yes", env=env)
        assert done.code == 0, done.output
        assert other.scalar("SELECT count(*) FROM orders") == 900

        env_refused = cli("restore", report["id"], "--env", "staging", "--yes", env={"DATABASE_URL": pg.url})
        assert env_refused.code == 3 and "in the 'development' environment, and this is 'staging'" in env_refused.stderr
    finally:
        drop_database(name)


def test_a_manifest_that_names_another_database_than_its_archive_is_refused(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    report = prepared(cli, pg, {"DATABASE_URL": pg.url})
    other = TestDB(name := make_database(), url_for(name))
    try:
        other.execute("CREATE TABLE keep (id int)")
        mpath = Path(report["local"].replace(".dump", ".manifest.json"))
        manifest = json.loads(mpath.read_text())
        manifest["database"] = other.name  # disguised as a backup of `other`; the bytes (and SHA-256) are pg's
        mpath.write_text(json.dumps(manifest))

        result = cli("restore", report["local"], "--yes", env={"DATABASE_URL": other.url})
        assert result.code == 3, result.output
        assert f"is a dump of the database {pg.name!r}, but its manifest says {other.name!r}" in result.stderr
        assert other.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'") == [("keep",)]
    finally:
        drop_database(name)
