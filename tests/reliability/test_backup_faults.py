"""Faults while backing up (issue 9, items 5 and 6): S3 misbehaving mid-upload, the disk limit mid-dump.

A backup is taken before anything is applied, and nothing is applied without it. So whatever breaks
the backup must end with the database untouched, no backup that looks good when it is not (no manifest
in S3, which is what marks an object good; no dump file on disk), and a run that succeeds once the
fault is gone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TestDB
from tests.fixtures.s3 import FaultProxy
from tests.production.conftest import App, approved_by
from tests.production.helpers import task_runs
from tests.reliability.helpers import fully_applied, start_app, untouched

pytestmark = pytest.mark.reliability
MiB = 1024 * 1024


def test_full_disk_during_the_backup_before_sync_stops_the_sync(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    start_app(pg, cli.project)
    pg.execute("CREATE TABLE blobs (id int PRIMARY KEY, body text)")  # enough to outgrow the limit below
    pg.execute("INSERT INTO blobs SELECT g, md5(g::text) || md5((-g)::text) FROM generate_series(1, 30000) g")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCHEMASYNC_", "DATABASE_URL", "PROD_"))}
    env.update({"DATABASE_URL": pg.url, "NO_COLOR": "1", "SCHEMASYNC_BACKUP_BEFORE_SYNC": "always"})
    # A 200 kB file size limit on the process and its children: pg_dump gets SIGXFSZ half-way through.
    # (No bytecode writes: under the limit CPython could leave truncated .pyc files behind.)
    limited = subprocess.run(
        ["prlimit", "--fsize=200000", sys.executable, "-m", "schemasync", "sync", "--yes"],
        cwd=cli.project,
        env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert limited.returncode == 1, limited.stdout + limited.stderr
    assert "pg_dump was stopped by signal SIGXFSZ (the file size limit, ulimit -f, was reached)" in limited.stderr
    assert "no backup was written" in limited.stderr and "Traceback" not in limited.stderr
    backups = cli.project / "backups"
    assert not backups.exists() or sorted(p.name for p in backups.iterdir()) == [], "nothing that looks like a backup"
    untouched(pg)

    again = cli("sync", "--yes", env={"DATABASE_URL": pg.url, "SCHEMASYNC_BACKUP_BEFORE_SYNC": "always"})
    assert again.code == 0, again.output
    fully_applied(pg)
    [dump] = sorted(backups.glob("*.dump"))
    assert pg.scalar("SELECT backup_uri FROM schema_versions ORDER BY id DESC LIMIT 1") == str(dump)
    assert oct(dump.stat().st_mode & 0o777) == "0o600"


@pytest.fixture
def big_app(app: App, monkeypatch: pytest.MonkeyPatch) -> App:
    """The production app with about 6 MB of incompressible data, so its dump goes up in two parts."""
    app.pg.execute("CREATE TABLE attachments (id int PRIMARY KEY, body bytea)")
    app.pg.execute(
        "INSERT INTO attachments SELECT n, decode(string_agg(md5(n::text || ':' || i::text), ''), 'hex') "
        "FROM generate_series(1, 400) n, generate_series(1, 1000) i GROUP BY n"
    )
    monkeypatch.setenv("SCHEMASYNC_S3_MULTIPART_THRESHOLD", str(5 * MiB))
    monkeypatch.setenv("SCHEMASYNC_S3_MULTIPART_CHUNKSIZE", str(5 * MiB))
    # The tasks' retry delays (2, 10, 30 s) suit S3, not a test: same number of retries, shorter pauses.
    from schemasync.workflows.tasks import production as t

    monkeypatch.setattr(t, "upload_backup", t.upload_backup.with_options(retry_delay_seconds=[0.2, 0.2, 0.2]))
    return app


def test_s3_failing_mid_upload_stops_the_deployment_and_a_rerun_rides_out_slow_and_failing_parts(
    big_app: App, fault_proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy = big_app
    monkeypatch.setenv("SCHEMASYNC_S3_ENDPOINT_URL", fault_proxy.endpoint)
    fault_proxy.drop_next("PUT", "partNumber=2", times=100)  # the network fails in the middle of every second part

    _name, future = deploy.start(terminal=approved_by("ci"))
    state = future.result(timeout=180)
    assert state.is_failed()
    assert "The upload to s3://" in state.message and "No copy in S3 is marked good" in state.message
    runs = task_runs(state.state_details.flow_run_id)
    assert [r.run_count for r in runs["upload-backup"]] == [4], "retried within bounds (3 retries), then given up"
    assert [r.run_count for r in runs["backup"]] == [1], "the dump was taken once"
    assert "apply-change" not in runs
    assert deploy.columns("orders") == [] and deploy.columns("customers") == ["id", "name"]
    assert [r["status"] for r in deploy.versions()] == ["initial"]
    client = deploy.s3.client()
    assert not any(k.endswith(".manifest.json") for k in deploy.s3_objects()), "nothing marked good"
    assert client.list_multipart_uploads(Bucket=deploy.bucket).get("Uploads", []) == [], "no stray parts left"
    assert deploy.summaries()[0].read_text().startswith("# Stopped: nothing was applied")

    # Once S3 only hiccups (a part dropped, a part refused with 503, a part answered too late), the
    # request retries absorb it and the deployment goes through, with one verified, encrypted copy.
    fault_proxy.clear()
    fault_proxy.drop_next("PUT", "partNumber=1")
    fault_proxy.fail_next("PUT", "partNumber=2", status=503, code="SlowDown")
    fault_proxy.delay_next("PUT", "partNumber=2", seconds=3)
    monkeypatch.setenv("SCHEMASYNC_S3_MAX_ATTEMPTS", "4")
    monkeypatch.setenv("SCHEMASYNC_S3_READ_TIMEOUT", "1")
    _name, future = deploy.start(terminal=approved_by("ci"))
    state = future.result(timeout=180)
    assert state.is_completed(), state.message
    assert fault_proxy.seen("PUT", "partNumber=1")[:2] == ["dropped", 200]
    assert fault_proxy.seen("PUT", "partNumber=2")[:3] == [503, "delayed", 200], "the slow answer was asked again"
    [key] = [k for k in deploy.s3_objects() if k.endswith(".dump")]
    head = client.head_object(Bucket=deploy.bucket, Key=key)
    assert head["ServerSideEncryption"] == "AES256"
    assert key.removesuffix(".dump") + ".manifest.json" in deploy.s3_objects()
    row = deploy.versions()[-1]
    assert (row["status"], row["backup_uri"]) == ("applied", f"s3://{deploy.bucket}/{key}")
    assert deploy.columns("orders") == ["id", "customer_id"]
    local = [p for p in deploy.dumps() if p.name.endswith(Path(key).name.split("-v")[0][-16:] + "-v1.1.0.dump")]
    assert local and local[0].read_bytes() == deploy.s3_objects()[key]
