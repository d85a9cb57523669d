"""The backups page: local and S3 copies with their verification state and the restore command for each."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemasync.backups.s3 import S3Store
from tests.backups.helpers import synthetic_backup
from tests.conftest import TestDB
from tests.fixtures.net import free_port
from tests.fixtures.s3 import S3Server
from tests.studio.helpers import make_studio


def test_local_backups_with_state_restore_commands_and_verify(pg: TestDB, project: Path) -> None:
    root = project / "backups"
    mine, m1 = synthetic_backup(root, 4096, database=pg.name, taken=datetime(2026, 5, 1, 12, 0, tzinfo=UTC))
    prod, _ = synthetic_backup(
        root, 2048, database="shop", env="production", taken=datetime(2026, 5, 2, 8, 30, tzinfo=UTC)
    )
    broken, _ = synthetic_backup(root, 1024, database=pg.name, taken=datetime(2026, 5, 3, 9, 0, tzinfo=UTC))
    with broken.open("ab") as fh:
        fh.write(b"trailing garbage")
    studio = make_studio(pg.url, project)
    text = html.unescape(studio.get("/backups").text)
    assert text.index("20260503T090000Z") < text.index("20260502T083000Z") < text.index("20260501T120000Z")
    assert "verified" in text and "size 1,040 bytes, manifest says 1,024" in text
    assert "schemasync restore 20260501T120000Z" in text  # this database's backup: by id
    assert f"schemasync restore {prod} --env production" in text  # another database's: by path, its environment
    ok = html.unescape(studio.get("/backups/verify", store="local", location=str(mine)).text)
    assert "Verified" in ok and "SHA-256 and size match the manifest" in ok
    data = bytearray(mine.read_bytes())
    data[100] ^= 0xFF  # same size, different bytes: only re-hashing notices
    mine.write_bytes(bytes(data))
    assert "verified" in html.unescape(studio.get("/backups").text)
    failed = html.unescape(studio.get("/backups/verify", store="local", location=str(mine)).text)
    assert "Verification FAILED" in failed and f"manifest says {m1.sha256[:16]}" in failed
    outside = studio.get("/backups/verify", store="local", location="/etc/passwd")
    assert outside.status_code == 404  # only listed backups are ever read


def test_no_backups_yet(pg: TestDB, project: Path) -> None:
    assert "No backups yet" in make_studio(pg.url, project).get("/backups").text


@pytest.mark.s3
def test_s3_backups_are_listed_and_an_unreachable_bucket_is_reported(
    pg: TestDB, project: Path, s3_server: S3Server, s3_bucket: str
) -> None:
    env = {
        "SCHEMASYNC_S3_BUCKET": s3_bucket,
        "SCHEMASYNC_S3_ENDPOINT_URL": s3_server.endpoint,
        "SCHEMASYNC_S3_ADDRESSING_STYLE": "path",
        "SCHEMASYNC_S3_MAX_ATTEMPTS": "1",
    }
    studio = make_studio(pg.url, project, **env)
    path, manifest = synthetic_backup(project / "backups", 3000, database=pg.name)
    stored = S3Store(studio.source.settings).put(path, manifest)
    text = html.unescape(studio.get("/backups").text)
    assert f"s3://{s3_bucket}/" in text
    assert f"schemasync restore {stored.location}" in text
    assert text.count(manifest.id) >= 2  # the local copy and the S3 copy
    down = make_studio(pg.url, project, **{**env, "SCHEMASYNC_S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"})
    page = down.get("/backups")
    assert page.status_code == 200
    assert "Could not list s3://" in page.text and f"schemasync restore {manifest.id}" in html.unescape(page.text)
