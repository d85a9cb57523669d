"""The S3 store against a real S3 endpoint (moto's server over HTTP): upload, verification, faults, errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from schemasync.backups.format import digest_file
from schemasync.backups.s3 import ABANDONED_FILE, S3Store
from schemasync.backups.store import Corrupt, StoreError
from tests.backups.helpers import make_settings, synthetic_backup
from tests.fixtures.s3 import CutProxy, FaultProxy, S3Server

pytestmark = pytest.mark.s3
MiB = 1024 * 1024


def s3_settings(tmp_path: Path, endpoint: str, bucket: str, **values: object):  # type: ignore[no-untyped-def]
    base: dict[str, object] = {
        "s3_bucket": bucket,
        "s3_endpoint_url": endpoint,
        "s3_addressing_style": "path",
        "s3_multipart_threshold": 5 * MiB,
        "s3_multipart_chunksize": 5 * MiB,
        "s3_max_concurrency": 2,
        "s3_max_attempts": 2,
        "s3_upload_attempts": 2,
    }
    return make_settings(tmp_path, **{**base, **values})


def test_multipart_upload_is_encrypted_checksummed_and_verified(
    tmp_path: Path, s3_server: S3Server, s3_bucket: str
) -> None:
    store = S3Store(s3_settings(tmp_path, s3_server.endpoint, s3_bucket))
    path, manifest = synthetic_backup(tmp_path / "backups", 12 * MiB)
    stored = store.put(path, manifest)

    key = f"schemasync/development/shop/{manifest.id}-v1.2.0.dump"
    assert stored.location == f"s3://{s3_bucket}/{key}" and stored.verified
    client = s3_server.client()
    head = client.head_object(Bucket=s3_bucket, Key=key, ChecksumMode="ENABLED")
    assert head["ServerSideEncryption"] == "AES256"
    # S3's checksum of a multipart object is the SHA-256 of the parts' SHA-256s (AWS adds "-3"; moto does not).
    composite = digest_file(path, 5 * MiB)
    assert len(composite.parts) == 3
    assert head["ChecksumSHA256"].split("-")[0] == composite.composite().split("-")[0]
    assert head["Metadata"]["sha256"] == manifest.sha256 and head["Metadata"]["app-version"] == "1.2.0"
    body = client.get_object(Bucket=s3_bucket, Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == manifest.sha256
    manifest_head = client.head_object(Bucket=s3_bucket, Key=key.replace(".dump", ".manifest.json"))
    assert manifest_head["ServerSideEncryption"] == "AES256"
    assert client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []

    listed = store.list()
    assert [(i.id, i.verified, i.size, i.schema_version) for i in listed] == [(manifest.id, True, 12 * MiB, "1.2.0")]
    assert store.verify(listed[0]).ok


def test_small_backup_uses_a_single_put_with_a_full_checksum(
    tmp_path: Path, s3_server: S3Server, s3_bucket: str
) -> None:
    store = S3Store(s3_settings(tmp_path, s3_server.endpoint, s3_bucket))
    path, manifest = synthetic_backup(tmp_path / "backups", 40_000)
    stored = store.put(path, manifest)
    head = s3_server.client().head_object(Bucket=s3_bucket, Key=stored.key, ChecksumMode="ENABLED")
    assert "-" not in head["ChecksumSHA256"] and head["ContentLength"] == 40_000


def test_sse_kms_with_a_key_id(tmp_path: Path, s3_server: S3Server, s3_bucket: str) -> None:
    import boto3

    kms = boto3.client("kms", endpoint_url=s3_server.endpoint, region_name="us-east-1")
    key_id = kms.create_key(Description="schemasync test")["KeyMetadata"]["KeyId"]
    store = S3Store(s3_settings(tmp_path, s3_server.endpoint, s3_bucket, s3_sse="aws:kms", s3_kms_key_id=key_id))
    path, manifest = synthetic_backup(tmp_path / "backups", 6 * MiB)
    stored = store.put(path, manifest)
    head = s3_server.client().head_object(Bucket=s3_bucket, Key=stored.key)
    assert head["ServerSideEncryption"] == "aws:kms" and key_id in head["SSEKMSKeyId"]
    assert store.verify(store.list()[0]).ok


def test_missing_bucket_is_a_clear_error(tmp_path: Path, s3_server: S3Server) -> None:
    store = S3Store(s3_settings(tmp_path, s3_server.endpoint, "no-such-bucket-here"))
    with pytest.raises(StoreError, match=r"The S3 bucket 'no-such-bucket-here' does not exist") as caught:
        store.preflight()
    assert "SCHEMASYNC_S3_BUCKET" in (caught.value.hint or "")


def test_unreachable_endpoint_is_a_clear_error(tmp_path: Path, s3_bucket: str) -> None:
    from tests.fixtures.net import free_port

    endpoint = f"http://127.0.0.1:{free_port()}"
    store = S3Store(s3_settings(tmp_path, endpoint, s3_bucket, connect_timeout=1))
    with pytest.raises(StoreError, match=rf"Cannot reach the S3 endpoint {endpoint}"):
        store.preflight()


def test_wrong_credentials_are_rejected_without_showing_them(
    tmp_path: Path, s3_server: S3Server, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "wrong-secret-Zq9x7Pw2"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    s3_server.set_auth(True)
    store = S3Store(s3_settings(tmp_path, s3_server.endpoint, s3_bucket))
    with pytest.raises(StoreError, match="the credentials are wrong") as caught:
        store.preflight()
    assert secret not in str(caught.value)


def test_access_denied_names_the_permissions(
    tmp_path: Path, s3_server: S3Server, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    iam = boto3.client("iam", endpoint_url=s3_server.endpoint, region_name="us-east-1")
    user = f"nobody-{s3_bucket}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    s3_server.set_auth(True)
    store = S3Store(s3_settings(tmp_path, s3_server.endpoint, s3_bucket))
    with pytest.raises(StoreError, match=r"Access to s3://\S+ .*was denied") as caught:
        store.preflight()
    assert "s3:PutObject" in (caught.value.hint or "") and key["SecretAccessKey"] not in str(caught.value)


def test_no_credentials_at_all(
    tmp_path: Path, s3_server: S3Server, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    store = S3Store(s3_settings(tmp_path, s3_server.endpoint, s3_bucket))
    with pytest.raises(StoreError, match="No AWS credentials were found"):
        store.preflight()


def test_server_gone_mid_upload_is_retried_then_fails_with_nothing_marked_good(
    tmp_path: Path, s3_server: S3Server, s3_bucket: str, cut_proxy: CutProxy
) -> None:
    store = S3Store(s3_settings(tmp_path, cut_proxy.endpoint, s3_bucket))
    path, manifest = synthetic_backup(tmp_path / "backups", 12 * MiB)
    cut_proxy.cut_after = 6 * MiB  # part of the way into the second part
    with pytest.raises(StoreError) as caught:
        store.put(path, manifest)
    message = str(caught.value)
    assert "failed (after 2 attempts)" in message and "No copy in S3 is marked good" in message
    assert "Cannot reach the S3 endpoint" in message
    assert cut_proxy.cuts == 1

    # Straight to the server: no dump, no manifest, nothing listed; the multipart upload the failed attempt
    # could not abort (S3 was gone) is still there, as the message says, and noted locally.
    key = store.key_for(manifest)
    assert f"An incomplete upload may remain under s3://{s3_bucket}/{key}" in message
    client = s3_server.client()
    assert client.list_objects_v2(Bucket=s3_bucket).get("KeyCount") == 0
    assert [u["Key"] for u in client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", [])] == [key]
    direct = S3Store(s3_settings(tmp_path, s3_server.endpoint, s3_bucket))
    assert direct.list() == []

    # S3 is back: the next backup's bucket check aborts it at once (not a day later), and forgets it.
    direct.preflight()
    assert client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []
    assert not (tmp_path / "backups" / ABANDONED_FILE).exists()


def test_outage_during_upload_recovers_by_retrying_the_whole_upload(
    tmp_path: Path, s3_server: S3Server, s3_bucket: str, cut_proxy: CutProxy
) -> None:
    settings = s3_settings(tmp_path, cut_proxy.endpoint, s3_bucket, s3_max_attempts=1, s3_upload_attempts=3)
    store = S3Store(settings)
    path, manifest = synthetic_backup(tmp_path / "backups", 12 * MiB)
    cut_proxy.cut_after = 6 * MiB
    cut_proxy.back_after = 0.2
    stored = store.put(path, manifest)
    assert cut_proxy.cuts == 1 and stored.verified
    client = s3_server.client()
    assert (
        client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []
    )  # the failed attempt's parts are gone
    body = client.get_object(Bucket=s3_bucket, Key=stored.key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == manifest.sha256


def test_corrupted_object_fails_verification_and_download_is_refused(
    tmp_path: Path, s3_server: S3Server, s3_bucket: str
) -> None:
    store = S3Store(s3_settings(tmp_path, s3_server.endpoint, s3_bucket))
    path, manifest = synthetic_backup(tmp_path / "backups", 100_000)
    stored = store.put(path, manifest)
    damaged = bytearray(path.read_bytes())
    damaged[50_000] ^= 0xFF  # one flipped bit's worth of rot, same size
    s3_server.client().put_object(Bucket=s3_bucket, Key=stored.key, Body=bytes(damaged))

    item = store.list()[0]
    result = store.verify(item)
    assert not result.ok and "SHA-256" in result.detail
    dest = tmp_path / "restore-cache"
    with pytest.raises(Corrupt, match="does not match its manifest"):
        store.fetch(item, dest)
    assert list(dest.iterdir()) == []  # nothing half-downloaded left behind


MEMORY_PROBE = """
import json, sys, tracemalloc
from pathlib import Path

from schemasync.backups.format import Manifest, digest_file, manifest_path
from schemasync.backups.s3 import S3Store
from tests.backups.helpers import make_settings

dump, endpoint, bucket = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
settings = make_settings(
    dump.parent.parent, s3_bucket=bucket, s3_endpoint_url=endpoint, s3_addressing_style="path",
    s3_multipart_threshold=5 * 2**20, s3_multipart_chunksize=5 * 2**20, s3_max_concurrency=2,
)
manifest = Manifest.loads(manifest_path(dump).read_text())
store = S3Store(settings)
store.preflight()
peaks = {}
for step, run in (
    ("hash", lambda: digest_file(dump, 5 * 2**20)),
    ("upload", lambda: store.put(dump, manifest)),
    ("download", lambda: store.fetch(store.item(store.key_for(manifest)), dump.parent.parent / "fetched")),
):
    tracemalloc.start()
    run()
    peaks[step] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
print(json.dumps(peaks))
"""


def test_memory_stays_flat_whatever_the_size(tmp_path: Path, s3_server: S3Server, s3_bucket: str) -> None:
    """Hashing, uploading and downloading stream the dump: the client's peak memory does not grow with it.

    Measured in a separate process (the test's own moto server keeps every object in this one)."""
    import json
    import subprocess
    import sys

    peaks = {}
    for size in (8 * MiB, 64 * MiB):
        path, _manifest = synthetic_backup(tmp_path / str(size) / "backups", size, database=f"shop{size}")
        proc = subprocess.run(
            [sys.executable, "-c", MEMORY_PROBE, str(path), s3_server.endpoint, s3_bucket],
            cwd=Path(__file__).parents[2],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        peaks[size] = json.loads(proc.stdout.strip().splitlines()[-1])
    for step in ("hash", "upload", "download"):
        small, big = peaks[8 * MiB][step], peaks[64 * MiB][step]
        assert big < 16 * MiB, (step, peaks)  # a quarter of the file at most: never the file in memory
        assert big < small + 4 * MiB, (step, peaks)  # eight times the data, about the same memory


def test_only_uploads_noted_as_abandoned_are_aborted_early(tmp_path: Path, s3_server: S3Server, s3_bucket: str) -> None:
    """The note names the uploads an attempt gave up on; others (another process still uploading) are left alone.

    (`backups prune` also sweeps uploads older than a day; moto reports every upload as initiated in 2010,
    so that age rule cannot be shown here.)"""
    import json

    from schemasync.backups.s3 import ABANDONED_FILE

    store = S3Store(s3_settings(tmp_path, s3_server.endpoint, s3_bucket))
    client = s3_server.client()
    dead, running = "schemasync/development/shop/20260101T000000Z-v1.2.0.dump", "schemasync/development/shop/x.dump"
    for key in (dead, running):
        client.create_multipart_upload(Bucket=s3_bucket, Key=key)
    note = tmp_path / "backups" / ABANDONED_FILE
    note.parent.mkdir()
    elsewhere = {"bucket": "another-bucket", "key": dead}
    note.write_text(json.dumps({"bucket": s3_bucket, "key": dead}) + "\n" + json.dumps(elsewhere) + "\n")

    assert store.abort_abandoned() == [dead]
    assert [u["Key"] for u in client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", [])] == [running]
    assert [json.loads(line) for line in note.read_text().splitlines()] == [elsewhere], "other buckets' notes kept"


def test_every_part_carries_its_sha256_and_an_upload_s3_finds_damaged_is_sent_again(
    tmp_path: Path, s3_server: S3Server, s3_bucket: str, fault_proxy: FaultProxy
) -> None:
    """The checksum S3 checks on receipt: each part's own SHA-256 in x-amz-checksum-sha256 (moto stores it
    without checking, so S3's refusal is played by the proxy: BadDigest on part 2, as S3 answers a mismatch).
    The failed multipart upload is aborted and the whole upload sent again, then verified."""
    import base64

    settings = s3_settings(tmp_path, fault_proxy.endpoint, s3_bucket, s3_max_attempts=1, s3_upload_attempts=2)
    path, manifest = synthetic_backup(tmp_path / "backups", 12 * MiB)
    fault_proxy.fail_next("PUT", "partNumber=2", status=400, code="BadDigest")
    stored = S3Store(settings).put(path, manifest)

    assert stored.verified and fault_proxy.seen("PUT", "partNumber=2") == [400, 200]
    parts = digest_file(path, 5 * MiB).parts
    sent = [(p, h) for m, p, h in fault_proxy.headers if m == "PUT" and "partNumber=" in p]
    numbers = [int(p.split("partNumber=")[1].split("&")[0]) for p, _h in sent]
    assert set(numbers) == {1, 2, 3} and numbers.count(2) == 2
    for number, (_path, headers) in zip(numbers, sent, strict=True):
        assert headers["x-amz-sdk-checksum-algorithm"] == "SHA256"
        assert headers["x-amz-checksum-sha256"] == base64.b64encode(parts[number - 1]).decode(), number
    [manifest_put] = [h for m, p, h in fault_proxy.headers if m == "PUT" and p.endswith(".manifest.json")]
    body = manifest.dumps().encode()
    assert manifest_put["x-amz-checksum-sha256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert s3_server.client().list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []
