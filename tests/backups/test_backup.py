"""`schemasync backup` and the engine under it: private, verified dumps with manifests; failures leave nothing."""

from __future__ import annotations

import hashlib
import json
import stat
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from schemasync.backups.format import BackupFailed
from schemasync.backups.take import write_dump
from tests.backups.helpers import fill, make_settings
from tests.conftest import TestDB
from tests.fixtures.pg import PasswordServer
from tests.fixtures.s3 import CutProxy, S3Server

PYPROJECT = '[project]\nname = "shop"\nversion = "1.2.0"\n'


def files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_backup_writes_a_private_dump_and_manifest_that_verify(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    (cli.project / "pyproject.toml").write_text(PYPROJECT)
    fill(pg)
    env = {"DATABASE_URL": pg.url}
    assert cli("setup", env=env).code == 0

    result = cli("backup", "--json", env=env)
    assert result.code == 0, result.output
    report = json.loads(result.stdout)
    dump = Path(report["local"])
    assert dump.parent == cli.project / "backups"
    assert dump.name == f"{pg.name}-development-{report['id']}-v1.2.0.dump"
    assert report["s3"] is None and report["restore_command"] == f"schemasync restore {report['id']}"
    assert "only on this machine" in result.stderr

    manifest_file = dump.with_name(dump.name.replace(".dump", ".manifest.json"))
    manifest = json.loads(manifest_file.read_text())
    assert manifest["sha256"] == hashlib.sha256(dump.read_bytes()).hexdigest() == report["sha256"]
    assert manifest["size"] == dump.stat().st_size
    assert (manifest["database"], manifest["environment"], manifest["app_version"], manifest["schema_version"]) == (
        pg.name,
        "development",
        "1.2.0",
        "1.2.0",
    )
    assert manifest["server_version"].split(".")[0] == manifest["pg_dump_version"].split(".")[0]
    assert manifest["tool_version"].startswith("schemasync ") and manifest["format"] == "custom"
    assert manifest["started_at"] <= manifest["finished_at"] and "snapshot" in manifest
    for path in (dump, manifest_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert files(dump.parent) == sorted([dump.name, manifest_file.name])  # no temporary files left

    listed = json.loads(cli("backups", "list", "--json", env=env).stdout)["backups"]
    assert [(b["id"], b["store"], b["verified"]) for b in listed] == [(report["id"], "local", True)]
    verified = cli("backups", "verify", report["id"], env=env)
    assert verified.code == 0 and "SHA-256 and size match" in verified.stdout

    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0x01  # same size, one bit changed
    dump.write_bytes(bytes(data))
    damaged = cli("backups", "verify", report["id"], env=env)
    assert damaged.code == 1 and "FAILED" in damaged.stdout and "SHA-256" in damaged.stdout


def test_password_is_never_shown_nor_stored(cli, password_pg: PasswordServer) -> None:  # type: ignore[no-untyped-def]
    (cli.project / "pyproject.toml").write_text(PYPROJECT)
    env = {"DATABASE_URL": password_pg.url("postgres")}
    result = cli("backup", "--debug", env=env)
    assert result.code == 0, result.output
    assert password_pg.password not in result.output
    backups = cli.project / "backups"
    for path in backups.iterdir():
        if path.name.endswith(".json"):
            assert password_pg.password not in path.read_text()

    wrong = cli("backup", env={"DATABASE_URL": password_pg.url("postgres", password="Wr0ng-Pa55w0rd")})
    assert wrong.code == 1 and "Authentication failed" in wrong.stderr
    assert "Wr0ng-Pa55w0rd" not in wrong.output and "Traceback" not in wrong.output


def test_a_dump_that_cannot_get_its_locks_leaves_nothing(tmp_path: Path, pg: TestDB) -> None:
    fill(pg, rows=20)
    settings = make_settings(tmp_path, url=pg.url, lock_timeout="1s")
    with psycopg.connect(pg.url) as holder:
        holder.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(BackupFailed, match=r"could not lock a table .* within 1s") as caught:
            write_dump(settings, _target(pg))
    assert "no backup was written" in caught.value.message
    assert files(tmp_path / "backups") == []


def test_file_size_limit_leaves_nothing(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    pg.execute("CREATE TABLE blobs (id int PRIMARY KEY, body text)")
    pg.execute("INSERT INTO blobs SELECT g, md5(g::text) || md5((-g)::text) FROM generate_series(1, 30000) g")
    project = cli.project
    proc = subprocess.run(
        ["prlimit", "--fsize=200000", sys.executable, "-m", "schemasync", "backup"],
        cwd=project,
        # No bytecode writes: under a file size limit CPython can leave truncated .pyc files behind.
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": pg.url, "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "file size limit" in proc.stderr and "no backup was written" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert files(project / "backups") == []


@pytest.fixture
def tiny_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A 256 kB file system (tmpfs), so a dump really runs out of space."""
    mountpoint = tmp_path / "tiny"
    mountpoint.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(mountpoint)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def test_full_disk_is_a_clear_error_and_leaves_nothing(cli, pg: TestDB, tiny_disk: Path) -> None:  # type: ignore[no-untyped-def]
    pg.execute("CREATE TABLE blobs (id int PRIMARY KEY, body text)")
    pg.execute("INSERT INTO blobs SELECT g, md5(g::text) || md5((-g)::text) FROM generate_series(1, 30000) g")
    result = cli("backup", "--backup-dir", str(tiny_disk), env={"DATABASE_URL": pg.url})
    assert result.code == 1
    assert f"The disk holding {tiny_disk} is full" in result.stderr and "no backup was written" in result.stderr
    assert "schemasync backups prune" in result.stderr and "Traceback" not in result.output
    assert files(tiny_disk) == []


def test_pg_dump_off_path_is_found_in_its_versioned_directory(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    fill(pg, rows=5)
    result = cli("backup", "--json", env={"DATABASE_URL": pg.url, "PATH": "/nonexistent"})
    assert result.code == 0, result.output
    manifest = json.loads(next((cli.project / "backups").glob("*.manifest.json")).read_text())
    assert manifest["pg_dump_version"].split(".")[0] == manifest["server_version"].split(".")[0]


def test_no_pg_dump_is_a_clear_error(cli, pg: TestDB, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    env = {"DATABASE_URL": pg.url, "PATH": "/nonexistent", "SCHEMASYNC_PG_BIN_DIR": str(empty)}
    result = cli("backup", env=env)
    assert result.code == 1
    assert f"No pg_dump program was found (looked in {empty}, PATH)" in result.stderr
    assert "postgresql-client-" in result.stderr and "Traceback" not in result.output
    assert files(cli.project / "backups") == []


@pytest.mark.s3
def test_missing_bucket_fails_before_dumping(cli, pg: TestDB, s3_server: S3Server) -> None:  # type: ignore[no-untyped-def]
    fill(pg, rows=5)
    result = cli("backup", env={"DATABASE_URL": pg.url, **s3_server.env("no-such-bucket-here")})
    assert result.code == 1
    assert "The S3 bucket 'no-such-bucket-here' does not exist" in result.stderr
    assert files(cli.project / "backups") == []  # failed in a second, not after the dump


def _target(pg: TestDB):  # type: ignore[no-untyped-def]
    from schemasync.db import parse_url

    return parse_url(pg.url, "test")


SYNC_MODELS = """
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200))
"""


def test_sync_backs_up_before_a_plan_that_deletes_data_and_the_backup_undoes_it(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    (cli.project / "pyproject.toml").write_text(PYPROJECT + '\n[tool.schemasync]\nmodels = "shopmodels:Base"\n')
    (cli.project / "shopmodels.py").write_text(SYNC_MODELS)
    pg.execute("CREATE TABLE customers (id int PRIMARY KEY, email varchar(200) NOT NULL, note text)")
    pg.execute("INSERT INTO customers SELECT g, 'c' || g || '@x', 'note ' || g FROM generate_series(1, 50) g")
    env = {"DATABASE_URL": pg.url}

    kept = cli("sync", "--yes", env=env)  # nothing deleted (note is left alone without --prune): no backup
    assert kept.code == 0, kept.output
    assert "Backing up" not in kept.stderr and files(cli.project / "backups") == []

    pruned = cli("sync", "--yes", "--prune", "--allow-destructive", env=env)
    assert pruned.code == 0, pruned.output
    [dump] = (cli.project / "backups").glob("*.dump")
    assert "before applying a plan that deletes data" in pruned.stderr
    assert f"the backup is kept on this machine only ({dump})" in pruned.stderr
    backup_id = dump.name.split("-v")[0].rsplit("-", 1)[1]
    assert f"to undo this sync: schemasync restore {backup_id}" in pruned.stderr
    assert pg.scalar("SELECT count(*) FROM information_schema.columns WHERE column_name = 'note'") == 0

    restored = cli("restore", backup_id, "--yes", env=env)
    assert restored.code == 0, restored.output
    assert pg.scalar("SELECT count(*) FROM customers WHERE note = 'note ' || id") == 50


@pytest.mark.s3
def test_backups_verify_rehashes_the_local_file_and_the_s3_object(
    cli, pg: TestDB, s3_server: S3Server, s3_bucket: str
) -> None:  # type: ignore[no-untyped-def]
    (cli.project / "pyproject.toml").write_text(PYPROJECT)
    fill(pg, rows=20)
    env = {"DATABASE_URL": pg.url, **s3_server.env(s3_bucket)}
    report = json.loads(cli("backup", "--json", env=env).stdout)
    key = report["s3"].split("/", 3)[3]

    good = cli("backups", "verify", report["id"], "--json", env=env)
    assert good.code == 0, good.output
    assert sorted((r["location"], r["ok"]) for r in json.loads(good.stdout)) == sorted(
        [(report["local"], True), (report["s3"], True)]
    )

    client = s3_server.client()
    body = bytearray(client.get_object(Bucket=s3_bucket, Key=key)["Body"].read())
    body[-10] ^= 0x01  # rot in the bucket only, same size
    client.put_object(Bucket=s3_bucket, Key=key, Body=bytes(body), ServerSideEncryption="AES256")
    bad = cli("backups", "verify", report["id"], "--json", env=env)
    assert bad.code == 1
    results = {r["location"]: r for r in json.loads(bad.stdout)}
    assert results[report["local"]]["ok"] and not results[report["s3"]]["ok"]
    assert "SHA-256" in results[report["s3"]]["detail"]


@pytest.mark.s3
def test_s3_gone_in_the_middle_of_the_upload_reports_nothing_good_off_the_machine(  # type: ignore[no-untyped-def]
    cli, pg: TestDB, s3_server: S3Server, s3_bucket: str, cut_proxy: CutProxy
) -> None:
    (cli.project / "pyproject.toml").write_text(PYPROJECT)
    pg.execute("CREATE TABLE blobs (id int PRIMARY KEY, body text)")
    pg.execute(
        "INSERT INTO blobs SELECT g, md5(g::text) || md5((-g)::text) || md5((2 * g)::text) "
        "FROM generate_series(1, 250000) g"
    )
    five_mib = str(5 * 1024 * 1024)
    tuning = {"SCHEMASYNC_S3_MULTIPART_THRESHOLD": five_mib, "SCHEMASYNC_S3_MULTIPART_CHUNKSIZE": five_mib}
    through_proxy = s3_server.env(s3_bucket, SCHEMASYNC_S3_ENDPOINT_URL=cut_proxy.endpoint, **tuning)
    cut_proxy.cut_after = 6 * 1024 * 1024  # into the second part; the endpoint then stays down

    result = cli("backup", env={"DATABASE_URL": pg.url, **through_proxy, "SCHEMASYNC_S3_UPLOAD_ATTEMPTS": "2"})
    assert result.code == 1 and cut_proxy.cuts == 1, result.output
    assert "failed (after 2 attempts)" in result.stderr and "No copy in S3 is marked good" in result.stderr
    [dump] = (cli.project / "backups").glob("*.dump")
    assert f"The local backup {dump} is good but is not stored off this machine" in result.stderr
    assert "Traceback" not in result.output and "uploaded and verified" not in result.output
    assert dump.stat().st_size > 6 * 1024 * 1024, "the dump must be big enough to be cut mid-upload"

    direct = {"DATABASE_URL": pg.url, **s3_server.env(s3_bucket)}
    listed = json.loads(cli("backups", "list", "--json", env=direct).stdout)
    assert [(b["store"], b["verified"]) for b in listed["backups"]] == [("local", True)], "nothing good in S3"
    assert s3_server.client().list_objects_v2(Bucket=s3_bucket).get("KeyCount") == 0


def test_two_backups_of_one_database_in_the_same_second_both_succeed(tmp_path: Path, pg: TestDB) -> None:
    """Two deployments of one database dump at once (threads of one process): each claims its own id.

    A check-then-write on the one-second id made both write the same temporary file, and each one's
    clean-up deleted the other's: both failed.
    """
    import threading

    fill(pg, rows=50)
    settings = make_settings(tmp_path, url=pg.url)
    start = threading.Barrier(3)
    results: list[object] = []

    def dump() -> None:
        start.wait()
        try:
            results.append(write_dump(settings, _target(pg))[1].id)
        except Exception as exc:  # reported by the assertion below
            results.append(exc)

    threads = [threading.Thread(target=dump) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(isinstance(r, str) for r in results), results
    assert len(set(results)) == 3, results
    dumps = sorted(p.name for p in (tmp_path / "backups").iterdir())
    assert len([d for d in dumps if d.endswith(".dump")]) == 3 and not [d for d in dumps if d.startswith(".")], dumps
