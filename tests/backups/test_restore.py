"""`schemasync restore`: verified bytes only, a clear summary, a confirmation, one transaction, an audit row."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.backups.helpers import fill, fingerprint
from tests.conftest import TestDB, drop_database, url_for
from tests.fixtures.s3 import S3Server

PYPROJECT = '[project]\nname = "shop"\nversion = "1.2.0"\n'


def prepared(cli, pg: TestDB, env: dict[str, str]) -> dict:  # type: ignore[no-untyped-def]
    """A filled, versioned database and one backup of it; returns `backup --json`."""
    (cli.project / "pyproject.toml").write_text(PYPROJECT)
    fill(pg)
    assert cli("setup", env=env).code == 0
    result = cli("backup", "--json", env=env)
    assert result.code == 0, result.output
    return json.loads(result.stdout)


def damage(pg: TestDB) -> None:
    pg.execute("DELETE FROM orders WHERE id % 2 = 0")
    pg.execute("UPDATE customers SET email = upper(email), note = NULL")
    pg.execute("DROP VIEW big_orders")
    pg.execute("DROP INDEX orders_customer")
    pg.execute("ALTER TABLE orders DROP COLUMN placed")
    pg.execute("CREATE TABLE later (id int PRIMARY KEY)")  # created after the backup: not in it


@pytest.mark.s3
def test_round_trip_through_s3(cli, pg: TestDB, s3_server: S3Server, s3_bucket: str) -> None:  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": pg.url, **s3_server.env(s3_bucket)}
    report = prepared(cli, pg, env)
    original = fingerprint(pg)
    uri = report["s3"]
    assert uri == f"s3://{s3_bucket}/schemasync/development/{pg.name}/{report['id']}-v1.2.0.dump"
    assert report["restore_command"] == f"schemasync restore {uri}"
    damage(pg)
    assert fingerprint(pg, skip=("schema_versions", "later")) != original
    shutil.rmtree(cli.project / "backups")  # this machine is gone: only S3 has it

    result = cli("restore", uri, "--yes", env=env)
    assert result.code == 0, result.output
    assert "Left as is" in result.stderr and "public.later" in result.stderr
    assert "schema_versions is kept as it is" in result.stderr
    assert "recorded version 1.2.0 as a restore" in result.stdout
    assert fingerprint(pg, skip=("schema_versions", "later")) == original
    history = pg.execute("SELECT schema_version, status, backup_uri FROM schema_versions ORDER BY id")
    assert history == [("1.2.0", "initial", None), ("1.2.0", "restore", uri)]
    assert (cli.project / "backups").is_dir()  # the verified download is kept for the next restore


def test_side_by_side_restore_into_a_new_database(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": pg.url}
    report = prepared(cli, pg, env)
    original = fingerprint(pg)
    damage(pg)
    copy = f"{pg.name}_copy"
    try:
        result = cli("restore", report["id"], "--target-db", copy, "--yes", env=env)
        assert result.code == 0, result.output
        assert "(will be created)" in result.stderr
        restored = TestDB(copy, url_for(copy))
        assert fingerprint(restored) == original
        rows = restored.execute("SELECT schema_version, status FROM schema_versions ORDER BY id")
        assert rows == [("1.2.0", "initial"), ("1.2.0", "restore")]
        assert pg.scalar("SELECT count(*) FROM later") == 0  # the source was not touched

        again = cli("restore", report["id"], "--target-db", copy, "--yes", env=env)
        assert again.code == 3 and "already exists" in again.stderr
    finally:
        drop_database(copy)


@pytest.mark.s3
def test_corrupted_download_is_refused_and_nothing_changes(  # type: ignore[no-untyped-def]
    cli, pg: TestDB, s3_server: S3Server, s3_bucket: str
) -> None:
    env = {"DATABASE_URL": pg.url, **s3_server.env(s3_bucket)}
    report = prepared(cli, pg, env)
    key = report["s3"].split("/", 3)[3]
    client = s3_server.client()
    body = bytearray(client.get_object(Bucket=s3_bucket, Key=key)["Body"].read())
    body[len(body) // 2] ^= 0x01
    client.put_object(Bucket=s3_bucket, Key=key, Body=bytes(body))
    shutil.rmtree(cli.project / "backups")
    pg.execute("DELETE FROM orders")

    result = cli("restore", report["id"], "--yes", env=env)
    assert result.code == 3
    assert "does not match its manifest" in result.stderr and "Nothing was restored" in result.stderr
    assert pg.scalar("SELECT count(*) FROM orders") == 0
    assert [p.name for p in (cli.project / "backups").iterdir()] == []  # the bad download was discarded


def test_no_confirmation_no_restore(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": pg.url}
    report = prepared(cli, pg, env)
    pg.execute("DELETE FROM orders")
    said_no = cli("restore", report["id"], input="n\n", env=env)
    assert said_no.code == 3 and "nothing was changed" in said_no.stderr
    assert "Replace the contents of" in said_no.stderr and "Now there" in said_no.stderr
    no_answer = cli("restore", "latest", env=env)  # stdin at EOF: no answer is no
    assert no_answer.code == 3
    assert pg.scalar("SELECT count(*) FROM orders") == 0

    yes = cli("restore", "latest", input="y\n", env=env)
    assert yes.code == 0, yes.output
    assert pg.scalar("SELECT count(*) FROM orders") == 900


def test_a_failing_restore_is_rolled_back_whole(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": pg.url}
    report = prepared(cli, pg, env)
    pg.execute("DELETE FROM orders WHERE id > 10")
    pg.execute("CREATE TABLE reviews (id int PRIMARY KEY, customer_id int REFERENCES customers(id))")

    result = cli("restore", report["id"], "--yes", env=env)
    assert result.code == 1
    assert "could not drop an object that something newer depends on" in result.stderr
    assert "rolled back" in result.stderr and "Traceback" not in result.output
    assert pg.scalar("SELECT count(*) FROM orders") == 10  # nothing half-applied
    assert pg.execute("SELECT status FROM schema_versions ORDER BY id") == [("initial",)]


def test_unknown_id_is_a_clear_error(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    result = cli("restore", "20200101T000000Z", "--yes", env={"DATABASE_URL": pg.url})
    assert result.code == 1 and "No backup matches '20200101T000000Z'" in result.stderr
    assert "schemasync backups list" in result.stderr


def test_restore_from_a_path_outside_the_backup_directory(cli, pg: TestDB, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": pg.url}
    report = prepared(cli, pg, env)
    original = fingerprint(pg)
    elsewhere = tmp_path / "copied-off-the-server"
    shutil.copytree(cli.project / "backups", elsewhere)
    shutil.rmtree(cli.project / "backups")
    damage(pg)
    dump = elsewhere / Path(report["local"]).name

    result = cli("restore", str(dump), "--yes", env=env)
    assert result.code == 0, result.output
    assert fingerprint(pg, skip=("schema_versions", "later")) == original
    assert pg.execute("SELECT status, backup_uri FROM schema_versions ORDER BY id")[-1][0] == "restore"

    body = bytearray(dump.read_bytes())
    body[len(body) // 2] ^= 0x01  # the copy rotted: refused before anything is touched
    dump.write_bytes(bytes(body))
    pg.execute("DELETE FROM orders")
    refused = cli("restore", str(dump), "--yes", env=env)
    assert refused.code == 3 and "Nothing was restored" in refused.stderr, refused.output
    assert pg.scalar("SELECT count(*) FROM orders") == 0


def test_a_dump_replaced_after_the_confirmation_is_not_restored(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    """Between the prompt (or an approval that waited for hours) and pg_restore, the dump verified and
    shown could be swapped by anyone who writes to the backup directory: it is hashed again first."""
    from schemasync import db
    from schemasync.backups import restore
    from tests.backups.helpers import make_settings

    env = {"DATABASE_URL": pg.url}
    report = prepared(cli, pg, env)
    pg.execute("DELETE FROM orders WHERE id > 10")
    settings = make_settings(cli.project, url=pg.url)
    plan = restore.prepare(report["id"], settings, db.parse_url(pg.url, "test"))
    with plan.dump.open("ab") as fh:  # what was verified and shown is no longer what is on disk
        fh.write(b"\0")

    with pytest.raises(restore.RestoreFailed, match="changed after it was verified and shown") as caught:
        restore.run(plan, settings)
    assert "the database was not touched" in caught.value.message
    assert pg.scalar("SELECT count(*) FROM orders") == 10
    assert pg.execute("SELECT status FROM schema_versions ORDER BY id") == [("initial",)]
