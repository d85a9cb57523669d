"""The S3 backup store: `s3://<bucket>/<prefix>/<env>/<db>/<id>-v<version>.dump`, with `.manifest.json` beside it.

Choices an operator expects, not a demo's: boto3's transfer manager uploads in parallel parts; every
part carries a SHA-256 that S3 checks on receipt, and the object's (composite) checksum is compared
with one computed locally from the same file before the backup counts; server-side encryption is on
by default (SSE-S3, or SSE-KMS with a key id); credentials come only from boto3's own chain (environment,
profile, role) and are never printed; botocore retries single requests (standard or adaptive mode), and
a whole failed upload is retried a bounded number of times with backoff, after aborting the incomplete
multipart upload so no stray parts are left (and billed). When S3 is gone for good, that abort cannot
reach it either: the key is then noted in the backup directory (`.s3-abandoned-uploads`) and the next
backup, upload or prune that reaches the bucket aborts it, instead of leaving it for the day-old sweep. The manifest is uploaded only after the dump
object passed verification: it is the mark of a good backup in the bucket, as it is on disk.

Permissions needed: s3:ListBucket, s3:GetObject, s3:PutObject, s3:DeleteObject (prune),
s3:AbortMultipartUpload, s3:ListBucketMultipartUploads; kms:GenerateDataKey and kms:Decrypt with SSE-KMS.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import random
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schemasync import __version__, secrets
from schemasync.backups.format import (
    CHUNK,
    DUMP_SUFFIX,
    ID_PATTERN,
    MANIFEST_SUFFIX,
    Digest,
    Manifest,
    backup_root,
    confined,
    digest_file,
    ensure_dir,
    manifest_path,
    parse_name,
    parse_stamp,
    plain_name,
    safe_part,
)
from schemasync.backups.store import BackupCheck, Corrupt, StoredBackup, StoreError, check_digest, newest_first
from schemasync.config import Settings
from schemasync.errors import Refused, SchemasyncError
from schemasync.privatefiles import open_private, place_new, temporary_name, write_private
from schemasync.units import human_size

log = logging.getLogger(__name__)

STALE_UPLOAD_AGE = 86400.0  # incomplete multipart uploads older than this are abandoned
ABANDONED_FILE = ".s3-abandoned-uploads"  # keys whose failed upload could not be aborted (one JSON object a line)
_KEY_FILE = re.compile(rf"^(?P<id>{ID_PATTERN})-v(?P<version>.+?)(?P<suffix>\.dump|\.manifest\.json)$")

_TRANSIENT_CODES = {
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "InternalError",
    "ServiceUnavailable",
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "BadDigest",
    "XAmzContentSHA256Mismatch",
    "IncompleteBody",
    "NoSuchUpload",
}


def is_transient(exc: BaseException) -> bool:
    """True for failures a later attempt may not meet: the network, throttling, 5xx, damaged transfers."""
    from botocore.exceptions import (  # lazy: start-up (boto3)
        ClientError,
        ConnectionError,
        HTTPClientError,
        IncompleteReadError,
    )
    from s3transfer.exceptions import RetriesExceededError  # lazy: start-up (boto3)

    if isinstance(exc, Corrupt | ConnectionError | HTTPClientError | IncompleteReadError | RetriesExceededError):
        return True
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return code in _TRANSIENT_CODES or status >= 500
    return False


class S3Store:
    """Backups under `s3://<bucket>/<prefix>/<env>/<db>/<id>-v<version>.dump` (+ `.manifest.json`)."""

    kind = "s3"

    def __init__(self, settings: Settings, *, bucket: str | None = None) -> None:
        self.settings = settings
        bucket = bucket or settings.s3_bucket
        if not bucket:
            raise StoreError("No S3 bucket is configured.", "Set SCHEMASYNC_S3_BUCKET (or s3_bucket in pyproject).")
        self.bucket = bucket
        self.prefix = settings.s3_prefix.strip("/")
        self._client: Any = None

    # -- plumbing ----------------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return self.settings.s3_endpoint_url or "AWS S3"

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix + '/' if self.prefix else ''}"

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def _make_client(self) -> Any:
        import boto3  # lazy: start-up (boto3)
        from botocore.config import Config  # lazy: start-up (boto3)
        from botocore.exceptions import BotoCoreError  # lazy: start-up (boto3)

        s = self.settings
        try:
            session = boto3.session.Session()
            credentials = session.get_credentials()
        except BotoCoreError as exc:
            raise self.explain(exc, "reading the AWS credentials") from None
        if credentials is None:
            raise StoreError(
                f"No AWS credentials were found for s3://{self.bucket} (boto3 looked in the environment, the shared "
                "config and credentials files, and the instance or container role).",
                "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with a role that may use the bucket.",
            )
        frozen = credentials.get_frozen_credentials()
        secrets.register(frozen.secret_key)
        secrets.register(frozen.token)
        config = Config(
            region_name=s.s3_region,
            retries={"mode": s.s3_retry_mode, "max_attempts": s.s3_max_attempts},
            s3={"addressing_style": s.s3_addressing_style},
            connect_timeout=max(1.0, s.connect_timeout),
            read_timeout=s.s3_read_timeout,
            max_pool_connections=max(10, s.s3_max_concurrency + 2),
            user_agent_extra=f"schemasync/{__version__}",
        )
        return session.client("s3", endpoint_url=s.s3_endpoint_url, config=config)

    def explain(self, exc: BaseException, action: str) -> SchemasyncError:
        """A one-paragraph error for an S3 failure; never includes credentials."""
        from botocore.exceptions import (  # lazy: start-up (boto3)
            ClientError,
            ConnectionError,
            CredentialRetrievalError,
            HTTPClientError,
            NoCredentialsError,
            PartialCredentialsError,
            ProfileNotFound,
        )
        from s3transfer.exceptions import RetriesExceededError  # lazy: start-up (boto3)

        if isinstance(exc, SchemasyncError):
            return exc
        if isinstance(exc, RetriesExceededError) and exc.last_exception is not None:
            return self.explain(exc.last_exception, action)
        where = f"s3://{self.bucket}" + (
            f" at {self.settings.s3_endpoint_url}" if self.settings.s3_endpoint_url else ""
        )
        text = secrets.scrub(str(exc))
        if isinstance(exc, NoCredentialsError | PartialCredentialsError | CredentialRetrievalError | ProfileNotFound):
            return StoreError(
                f"The AWS credentials for {where} could not be used: {text}.",
                "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a valid AWS_PROFILE, or run with a role.",
            )
        if isinstance(exc, ConnectionError | HTTPClientError):
            return StoreError(
                f"Cannot reach the S3 endpoint {self.endpoint} while {action} ({text}), even after retries.",
                "Check SCHEMASYNC_S3_ENDPOINT_URL and the network, and that the service is up; then run again.",
            )
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            message = secrets.scrub(str(error.get("Message", ""))) or code
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            if code in ("NoSuchBucket",) or (code == "404" and "bucket" in action):
                return StoreError(
                    f"The S3 bucket {self.bucket!r} does not exist ({where}).",
                    "Create it, or fix SCHEMASYNC_S3_BUCKET (and SCHEMASYNC_S3_ENDPOINT_URL for a non-AWS endpoint).",
                )
            if code == "InvalidAccessKeyId":
                return StoreError(
                    f"{where} does not know the AWS access key id in use: the credentials are wrong.",
                    "Check AWS_ACCESS_KEY_ID / AWS_PROFILE (and that they belong to this endpoint's account).",
                )
            if code == "SignatureDoesNotMatch":
                return StoreError(
                    f"{where} rejected the request signature: the AWS secret access key in use is wrong.",
                    "Check AWS_SECRET_ACCESS_KEY / the profile's secret.",
                )
            if code in ("ExpiredToken", "TokenRefreshRequired", "InvalidToken", "ExpiredTokenException"):
                return StoreError(
                    f"The AWS session credentials for {where} have expired or are invalid.",
                    "Refresh them (for example aws sso login) and run again.",
                )
            if code.startswith("KMS") or ("kms" in message.lower() and code in ("AccessDenied", "InvalidArgument")):
                return StoreError(
                    f"S3 could not use the KMS key {self.settings.s3_kms_key_id or '(bucket default)'} while {action}: {message}.",
                    "Check SCHEMASYNC_S3_KMS_KEY_ID and grant kms:GenerateDataKey and kms:Decrypt on it.",
                )
            if code in ("AccessDenied", "AllAccessDisabled", "403") or status == 403:
                return StoreError(
                    f"Access to {where} was denied while {action}.",
                    "Grant this identity s3:ListBucket, s3:GetObject, s3:PutObject, s3:DeleteObject, "
                    "s3:AbortMultipartUpload and s3:ListBucketMultipartUploads on the bucket (and kms:GenerateDataKey, "
                    "kms:Decrypt with SSE-KMS).",
                )
            if code in ("NoSuchKey", "404"):
                return StoreError(f"{where} has no object for {action}.", "Check the key: schemasync backups list.")
            return StoreError(
                f"S3 ({where}) failed while {action}: {code or status}: {message}.",
                "Run with --debug for details; run again if the service had a passing problem.",
            )
        return StoreError(f"S3 ({where}) failed while {action}: {type(exc).__name__}: {text}.", "Run with --debug.")

    def key_for(self, manifest: Manifest) -> str:
        name = f"{manifest.id}-v{safe_part(manifest.app_version or 'unknown')}{DUMP_SUFFIX}"
        parts = [self.prefix, safe_part(manifest.environment), safe_part(manifest.database), name]
        return "/".join(p for p in parts if p)

    def local_name(self, key: str) -> str:
        """The file name a download of `key` gets locally: `<db>-<env>-<id>-v<version>.dump`, from the key alone.

        Never from the manifest: its content is whatever the bucket holds. The key's last three parts are
        `<env>/<db>/<id>-v<version>.dump` (as `key_for` writes them), and the result must be a plain name.
        """
        parts = key.split("/")
        name = f"{parts[-2]}-{parts[-3]}-{parts[-1]}" if len(parts) >= 3 else ""
        if not (plain_name(name) and parse_name(name) and _KEY_FILE.match(parts[-1])):
            raise Corrupt(
                f"The S3 key {self.uri(key)!r} does not give a plain backup file name "
                "(<env>/<db>/<id>-v<version>.dump with letters, digits, '_', '.', '-'); nothing was downloaded.",
                "This object was not written by schemasync: find out who put it in the bucket, and restore another "
                "backup (schemasync backups list).",
            )
        return name

    def check_name(self, item: StoredBackup) -> str | None:
        """Why the manifest's `file` disagrees with the object's key (a tampered or foreign manifest), else None."""
        assert item.manifest is not None and item.key is not None
        name = self.local_name(item.key)
        if item.manifest.file != name:
            return f"the manifest names the file {item.manifest.file!r}, the object's key gives {name!r}"
        return None

    @staticmethod
    def manifest_key(key: str) -> str:
        return key.removesuffix(DUMP_SUFFIX) + MANIFEST_SUFFIX

    def _encryption_args(self) -> dict[str, str]:
        s = self.settings
        if s.s3_sse == "none":
            return {}
        args: dict[str, str] = {"ServerSideEncryption": s.s3_sse}
        if s.s3_sse == "aws:kms" and s.s3_kms_key_id:
            args["SSEKMSKeyId"] = s.s3_kms_key_id
        return args

    def _metadata(self, manifest: Manifest) -> dict[str, str]:
        values = {
            "sha256": manifest.sha256,
            "backup-id": manifest.id,
            "database": safe_part(manifest.database),
            "environment": manifest.environment,
            "app-version": manifest.app_version,
            "schema-version": manifest.schema_version,
            "server-version": manifest.server_version,
            "pg-dump-version": manifest.pg_dump_version,
            "schemasync-version": __version__,
        }
        return {k: safe_part(str(v)) if k != "sha256" else str(v) for k, v in values.items() if v is not None}

    # -- checks ------------------------------------------------------------------------------------

    def preflight(self) -> None:
        """Fail fast, before a long dump, when the bucket is missing, unreachable or forbidden."""
        try:
            self.client.list_objects_v2(Bucket=self.bucket, Prefix=f"{self.prefix}/" if self.prefix else "", MaxKeys=1)
        except Exception as exc:
            raise self.explain(exc, f"checking the bucket {self.bucket!r}") from None
        self.abort_abandoned()

    # -- upload ------------------------------------------------------------------------------------

    def part_size(self, size: int) -> int | None:
        """The part size the transfer manager will use for a file of `size` bytes; None for a single PUT."""
        from s3transfer.utils import ChunksizeAdjuster  # lazy: start-up (boto3)

        s = self.settings
        if size < s.s3_multipart_threshold:
            return None
        return int(ChunksizeAdjuster().adjust_chunksize(s.s3_multipart_chunksize, size))

    def put(self, path: Path, manifest: Manifest, *, digest: Digest | None = None) -> StoredBackup:
        """Upload dump then manifest, verifying the dump object before the manifest marks it good.

        `digest` saves a hashing pass when the caller has just hashed the file with the right part size;
        otherwise the file is hashed here, which also checks that it still matches its manifest.
        """
        from boto3.s3.transfer import TransferConfig  # lazy: start-up (boto3)

        s = self.settings
        key = self.key_for(manifest)
        size = path.stat().st_size
        part_size = self.part_size(size)
        if digest is None or digest.part_size != part_size or digest.size != size:
            digest = digest_file(path, part_size)
        if digest.sha256 != manifest.sha256 or digest.size != manifest.size:
            raise Corrupt(
                f"The local dump {path} no longer matches its manifest; it was not uploaded.",
                "Take a new backup: schemasync backup.",
            )
        config = TransferConfig(
            multipart_threshold=s.s3_multipart_threshold,
            multipart_chunksize=s.s3_multipart_chunksize,
            max_concurrency=s.s3_max_concurrency,
            use_threads=True,
            preferred_transfer_client="classic",
        )
        extra = {
            "ChecksumAlgorithm": "SHA256",
            "ContentType": "application/octet-stream",
            "Metadata": self._metadata(manifest),
            **self._encryption_args(),
        }
        attempts = s.s3_upload_attempts
        started = time.monotonic()
        self.abort_abandoned()  # including this key's own leftovers, when this is a retried task's new try
        log.info("Uploading %s (%s) to %s", path.name, human_size(size), self.uri(key))
        for attempt in range(1, attempts + 1):
            try:
                if attempt > 1:
                    self.abort_incomplete(key)
                self._transfer(path, key, extra, config)
                self._check_object(key, digest, manifest)
                self._put_manifest(key, manifest)
                break
            except Exception as exc:
                error = self.explain(exc, f"uploading {self.uri(key)}")
                cleaned = self._cleanup_failed(key, delete_object=isinstance(exc, Corrupt))
                if not is_transient(exc) or attempt == attempts:
                    stray = ""
                    if not cleaned:
                        self._note_abandoned(key)
                        stray = (
                            f" An incomplete upload may remain under {self.uri(key)}: the next backup, upload or "
                            "`schemasync backups prune` that reaches the bucket aborts it."
                        )
                    tries = f" (after {attempt} attempts)" if attempt > 1 else ""
                    raise StoreError(
                        f"The upload to {self.uri(key)} failed{tries}: {error.message} No copy in S3 is marked good.{stray}",
                        error.hint,
                    ) from exc
                delay = min(30.0, 2.0 ** (attempt - 1)) * (0.5 + random.random() / 2)  # noqa: S311 (jitter)
                log.warning(
                    "upload attempt %d of %d failed (%s); retrying in %.1fs", attempt, attempts, error.message, delay
                )
                time.sleep(delay)
        elapsed = time.monotonic() - started
        log.info("Uploaded and verified %s in %.1fs", self.uri(key), elapsed)
        return StoredBackup(
            id=manifest.id,
            database=manifest.database,
            environment=manifest.environment,
            app_version=manifest.app_version,
            taken_at=manifest.started_at,
            modified_at=datetime.now(UTC),
            store=self.kind,
            location=self.uri(key),
            size=size,
            manifest=manifest,
            key=key,
        )

    def _transfer(self, path: Path, key: str, extra: dict[str, Any], config: Any) -> None:
        from boto3.s3.transfer import create_transfer_manager  # lazy: start-up (boto3)

        with create_transfer_manager(self.client, config) as manager:
            manager.upload(str(path), self.bucket, key, extra_args=extra).result()

    def _check_object(self, key: str, digest: Digest, manifest: Manifest) -> None:
        head = self.client.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        problems = []
        if int(head.get("ContentLength", -1)) != digest.size:
            problems.append(f"size {head.get('ContentLength')} instead of {digest.size}")
        checksum = head.get("ChecksumSHA256")
        if checksum is None:
            log.info("%s returned no SHA-256 checksum; verifying by reading the object back", self.endpoint)
            sha, size = self._stream_hash(key)
            if (sha, size) != (digest.sha256, digest.size):
                problems.append("the bytes read back differ from the local dump")
        elif checksum.split("-")[0] != digest.composite().split("-")[0]:
            problems.append("S3's SHA-256 checksum differs from the local dump's")
        wanted = self._encryption_args().get("ServerSideEncryption")
        if wanted and head.get("ServerSideEncryption") != wanted:
            problems.append(f"stored with encryption {head.get('ServerSideEncryption')!r}, not {wanted!r}")
        if head.get("Metadata", {}).get("sha256") != manifest.sha256:
            problems.append("metadata sha256 missing or different")
        if problems:
            raise Corrupt(f"The uploaded object {self.uri(key)} failed verification: {'; '.join(problems)}.")

    def _put_manifest(self, key: str, manifest: Manifest) -> None:
        body = manifest.dumps().encode()
        mkey = self.manifest_key(key)
        self.client.put_object(
            Bucket=self.bucket,
            Key=mkey,
            Body=body,
            ContentType="application/json",
            ChecksumSHA256=base64.b64encode(
                hashlib.sha256(body).digest()
            ).decode(),  # S3 refuses the body if it differs
            Metadata=self._metadata(manifest),
            **self._encryption_args(),
        )
        head = self.client.head_object(Bucket=self.bucket, Key=mkey)
        if int(head.get("ContentLength", -1)) != len(body):
            raise Corrupt(f"The uploaded manifest {self.uri(mkey)} has the wrong size.")

    def _cleanup_failed(self, key: str, *, delete_object: bool) -> bool:
        """Abort what a failed attempt left (and a dump that failed verification); False if that failed too."""
        try:
            if delete_object:
                self.client.delete_object(Bucket=self.bucket, Key=key)
            self.abort_incomplete(key)
        except Exception as exc:
            log.debug("cleanup after a failed upload failed: %s", secrets.scrub(str(exc)))
            return False
        return True

    @property
    def _abandoned_path(self) -> Path:
        return backup_root(self.settings) / ABANDONED_FILE

    def _read_abandoned(self) -> list[dict[str, str]]:
        try:
            lines = self._abandoned_path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        entries = []
        for line in lines:
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if (
                    isinstance(entry, dict)
                    and isinstance(entry.get("bucket"), str)
                    and isinstance(entry.get("key"), str)
                ):
                    entries.append({"bucket": entry["bucket"], "key": entry["key"]})
        return entries

    def _write_abandoned(self, entries: list[dict[str, str]]) -> None:
        path = self._abandoned_path
        if not entries:
            path.unlink(missing_ok=True)
            return
        write_private(path, "".join(json.dumps(e, sort_keys=True) + "\n" for e in entries))

    def _note_abandoned(self, key: str) -> None:
        """Remember a key whose failed multipart upload could not be aborted (S3 unreachable); best effort."""
        try:
            ensure_dir(backup_root(self.settings))
            entries = self._read_abandoned()
            if {"bucket": self.bucket, "key": key} not in entries:
                self._write_abandoned([*entries, {"bucket": self.bucket, "key": key}])
        except (OSError, SchemasyncError) as exc:
            log.debug("could not note the abandoned upload of %s: %s", key, exc)

    def abort_abandoned(self) -> list[str]:
        """Abort the uploads noted by `_note_abandoned` for this bucket; keep the ones S3 still cannot be asked about.

        Those uploads belong to attempts that gave up, so they are aborted whatever their age (the sweep in
        `backups prune` only touches uploads older than a day, which may still be running elsewhere)."""
        entries = self._read_abandoned()
        mine = [e for e in entries if e["bucket"] == self.bucket]
        if not mine:
            return []
        left = [e for e in entries if e["bucket"] != self.bucket]
        aborted: list[str] = []
        for entry in mine:
            try:
                aborted += self.abort_incomplete(entry["key"])
            except Exception as exc:
                log.debug("could not abort the abandoned upload of %s yet: %s", entry["key"], secrets.scrub(str(exc)))
                left.append(entry)
        try:
            self._write_abandoned(left)
        except OSError as exc:
            log.debug("could not update %s: %s", self._abandoned_path, exc)
        if aborted:
            log.info(
                "Aborted %d incomplete upload(s) left by an earlier failed attempt: %s",
                len(aborted),
                ", ".join(aborted),
            )
        return aborted

    def abort_incomplete(self, key: str | None = None, older_than: float | None = None) -> list[str]:
        """Abort incomplete multipart uploads of `key` (or, with `older_than`, all stale ones under the prefix)."""
        prefix = key if key is not None else (f"{self.prefix}/" if self.prefix else "")
        aborted = []
        cutoff = time.time() - older_than if older_than is not None else None
        paginator = self.client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for upload in page.get("Uploads", []):
                if key is not None and upload["Key"] != key:
                    continue
                if cutoff is not None and upload["Initiated"].timestamp() > cutoff:
                    continue
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
                aborted.append(upload["Key"])
        return aborted

    # -- reading -----------------------------------------------------------------------------------

    def _stream_hash(self, key: str, sink: Any = None) -> tuple[str, int]:
        """SHA-256 and size of an object read as a stream (optionally copied to `sink`); memory stays flat."""
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        sha = hashlib.sha256()
        size = 0
        try:
            for chunk in body.iter_chunks(CHUNK):
                sha.update(chunk)
                size += len(chunk)
                if sink is not None:
                    sink.write(chunk)
        finally:
            body.close()
        return sha.hexdigest(), size

    def _read_manifest(self, key: str) -> Manifest:
        body = self.client.get_object(Bucket=self.bucket, Key=self.manifest_key(key))["Body"].read()
        return Manifest.loads(body)

    def _item(self, key: str, obj: dict[str, Any] | None, has_manifest: bool) -> StoredBackup:
        rel = key[len(self.prefix) + 1 :] if self.prefix else key
        env, database, filename = [*rel.split("/"), "", "", ""][:3]
        match = _KEY_FILE.match(filename)
        assert match is not None
        manifest: Manifest | None = None
        problem: str | None = None
        if has_manifest:
            try:
                manifest = self._read_manifest(key)
            except (ValueError, KeyError, TypeError) as exc:
                problem = f"manifest unreadable ({type(exc).__name__})"
        else:
            problem = "no manifest: upload incomplete or not verified"
        size = int(obj["Size"]) if obj else 0
        if obj is None:
            problem = "dump object missing"
        elif manifest is not None and size != manifest.size:
            problem = f"size {size:,} bytes, manifest says {manifest.size:,}"
        return StoredBackup(
            id=match["id"],
            database=manifest.database if manifest else database,
            environment=manifest.environment if manifest else env,
            app_version=manifest.app_version if manifest else match["version"],
            taken_at=parse_stamp(match["id"]),
            modified_at=obj["LastModified"] if obj else datetime.now(UTC),
            store=self.kind,
            location=self.uri(key),
            size=size,
            manifest=manifest,
            problem=problem,
            key=key,
        )

    def item(self, key: str) -> StoredBackup:
        """The backup at `key` (dump or manifest key)."""
        from botocore.exceptions import ClientError  # lazy: start-up (boto3)

        if key.endswith(MANIFEST_SUFFIX):
            key = key.removesuffix(MANIFEST_SUFFIX) + DUMP_SUFFIX
        if not _KEY_FILE.match(key.rsplit("/", 1)[-1]):
            raise StoreError(
                f"{self.uri(key)} is not a schemasync backup key (<prefix>/<env>/<db>/<id>-v<version>.dump).",
                "Pick one from schemasync backups list.",
            )
        found: dict[str, dict[str, Any]] = {}
        try:
            for candidate in (key, self.manifest_key(key)):
                try:
                    head = self.client.head_object(Bucket=self.bucket, Key=candidate)
                    found[candidate] = {"Size": head["ContentLength"], "LastModified": head["LastModified"]}
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                        raise
            if not found:
                raise StoreError(f"There is no backup at {self.uri(key)}.", "Pick one from schemasync backups list.")
            return self._item(key, found.get(key), self.manifest_key(key) in found)
        except StoreError:
            raise
        except Exception as exc:
            raise self.explain(exc, f"reading {self.uri(key)}") from None

    def list(self) -> list[StoredBackup]:
        try:
            objects: dict[str, dict[str, Any]] = {}
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{self.prefix}/" if self.prefix else ""):
                for obj in page.get("Contents", []):
                    objects[obj["Key"]] = obj
            dumps: set[str] = set()
            for key in objects:
                match = _KEY_FILE.match(key.rsplit("/", 1)[-1])
                if match and key.count("/") == (2 if not self.prefix else self.prefix.count("/") + 3):
                    dumps.add(key.removesuffix(MANIFEST_SUFFIX).removesuffix(DUMP_SUFFIX) + DUMP_SUFFIX)
            items = [self._item(k, objects.get(k), self.manifest_key(k) in objects) for k in dumps]
        except Exception as exc:
            raise self.explain(exc, f"listing {self.describe()}") from None
        return newest_first(items)

    def verify(self, item: StoredBackup) -> BackupCheck:
        if item.manifest is None or item.key is None:
            return BackupCheck(item, False, item.problem or "no manifest to check against")
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=item.key, ChecksumMode="ENABLED")
            sha, size = self._stream_hash(item.key)
        except Exception as exc:
            raise self.explain(exc, f"reading {item.location}") from None
        try:
            problem = check_digest(item, Digest(size, sha)) or self.check_name(item)
        except Corrupt as exc:
            problem = exc.message
        if problem:
            return BackupCheck(item, False, problem)
        wanted = self._encryption_args().get("ServerSideEncryption")
        encryption = head.get("ServerSideEncryption")
        if wanted and encryption != wanted:
            return BackupCheck(item, False, f"stored with encryption {encryption!r}, not {wanted!r}")
        return BackupCheck(
            item, True, f"SHA-256 and size match the manifest ({human_size(size)}, encryption {encryption or 'none'})"
        )

    def fetch(self, item: StoredBackup, dest_dir: Path) -> Path:
        """Download into `dest_dir`, hashing as it arrives; refuse (and keep nothing) on a mismatch.

        The local name comes from the key, is checked to be a plain name inside `dest_dir`, and must be the
        one the manifest names; all of that before anything (even `dest_dir`) is created. A download never
        replaces a local file of the same backup: a local copy with the manifest's bytes is used as it is
        (nothing downloaded), one with other bytes is refused, since it may be the only good copy there is.
        """
        if item.manifest is None or item.key is None:
            raise Corrupt(
                f"{item.location} has no manifest ({item.problem}); its content cannot be checked.",
                "Use a backup listed as verified: schemasync backups list.",
            )
        mismatch = self.check_name(item)
        if mismatch:
            raise Corrupt(
                f"The manifest of {item.location!r} does not describe that object ({mismatch}): it was altered "
                "or is not schemasync's; nothing was downloaded.",
                "Find out who changed the bucket before trusting it; restore another backup (schemasync backups list).",
            )
        name = self.local_name(item.key)
        try:
            final = confined(dest_dir, name)
        except ValueError as exc:
            raise Corrupt(f"{item.location} cannot be downloaded into {dest_dir}: {exc}.") from None
        mfinal = manifest_path(final)
        for path in (final, mfinal):
            if path.is_symlink() or (path.exists() and not path.is_file()):
                raise Corrupt(
                    f"{path} exists and is not a regular file; the download of {item.location} would replace it.",
                    "Move it away (a backup directory holds only backups) and run again.",
                )
        self._check_local_manifest(item, mfinal)
        if final.exists():
            return self._use_local_copy(item, final)
        ensure_dir(dest_dir)
        tmp = temporary_name(final)  # hidden, so a crash leftover is swept by prune
        log.info("Downloading %s (%s)", item.location, human_size(item.size))
        try:
            with open_private(tmp) as fh:
                try:
                    sha, size = self._stream_hash(item.key, fh)
                except Exception as exc:
                    raise self.explain(exc, f"downloading {item.location}") from None
                fh.flush()
                os.fsync(fh.fileno())
            problem = check_digest(item, Digest(size, sha))
            if problem:
                raise Corrupt(
                    f"The download of {item.location} does not match its manifest ({problem}); it was discarded.",
                    "The object is damaged: restore another backup (schemasync backups list), and check the bucket.",
                )
            try:
                place_new(tmp, final)
            except FileExistsError:
                raise self._conflict(item, final, "it appeared during the download") from None
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        self._add_manifest(item, mfinal)
        return final

    def _conflict(self, item: StoredBackup, local: Path, why: str) -> Refused:
        """The refusal for a local file of the same name as the download that is not the same backup."""
        dump = local.with_name(local.name.removesuffix(MANIFEST_SUFFIX).removesuffix(DUMP_SUFFIX) + DUMP_SUFFIX)
        return Refused(
            f"The backup directory already holds {local}, under the name a download of {item.location} gets, "
            f"and it is not the backup in S3 ({why}); schemasync never replaces a local copy of a backup with a "
            "download, so it was left as it is and nothing was downloaded.",
            f"Move {dump.name} and {manifest_path(dump).name} out of the backup directory and run again to use the "
            f"S3 copy, or, if the local copy is the backup you mean, restore it by its path (schemasync restore {dump}).",
        )

    def _check_local_manifest(self, item: StoredBackup, mfinal: Path) -> None:
        """Refuse when a local manifest of the same name describes another backup than the bucket's."""
        assert item.manifest is not None
        if not mfinal.exists():
            return
        try:
            local = Manifest.loads(mfinal.read_bytes())
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise self._conflict(item, mfinal, f"it cannot be read as a manifest: {type(exc).__name__}") from None
        theirs = item.manifest
        if (local.file, local.size, local.sha256) != (theirs.file, theirs.size, theirs.sha256):
            raise self._conflict(item, mfinal, "it names other bytes than the manifest in S3")

    def _use_local_copy(self, item: StoredBackup, final: Path) -> Path:
        """The local file of the same name, when its bytes are the manifest's; refused otherwise."""
        problem = check_digest(item, digest_file(final))
        if problem:
            raise self._conflict(item, final, problem)
        log.info("Using the local copy %s: its SHA-256 and size match the manifest of %s", final, item.location)
        self._add_manifest(item, manifest_path(final))
        return final

    @staticmethod
    def _add_manifest(item: StoredBackup, mfinal: Path) -> None:
        """Write the manifest beside a checked dump when none is there (an existing one was checked to agree)."""
        assert item.manifest is not None
        mtmp = temporary_name(mfinal)
        try:
            with open_private(mtmp, "w", encoding="utf-8") as mh:
                mh.write(item.manifest.dumps())
            place_new(mtmp, mfinal)
        except FileExistsError:
            pass  # one appeared meanwhile: it is left as it is, as every local file of a backup
        finally:
            with contextlib.suppress(OSError):
                mtmp.unlink()

    def delete(self, item: StoredBackup) -> None:
        assert item.key is not None
        try:
            for key in (self.manifest_key(item.key), item.key):  # manifest first, as locally
                self.client.delete_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            raise self.explain(exc, f"deleting {item.location}") from None


def parse_s3_uri(uri: str) -> tuple[str, str]:
    match = re.fullmatch(r"s3://([^/]+)/(.+)", uri.strip())
    if not match:
        raise StoreError(f"{uri!r} is not an S3 URI.", "Use s3://bucket/key as printed by schemasync backups list.")
    return match[1], match[2]
