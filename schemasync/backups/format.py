"""What a backup is on disk: its file names and id, its manifest, its digest, and the backup directory.

The bottom layer of `schemasync.backups` (format -> store -> s3 -> locate -> take, restore, retention,
prune): plain values and pure functions every other layer reads, importing none of them.

An id is the backup's UTC timestamp (`20260101T120000Z`), unique per database and environment; a dump
is `<db>-<env>-<id>-v<app version>.dump` with `<same>.manifest.json` beside it. Names that come from
outside (an S3 key, a manifest) are untrusted: `plain_name` and `confined` keep them to one plain file
name inside the directory meant.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schemasync import secrets
from schemasync.config import Settings
from schemasync.errors import SchemasyncError
from schemasync.privatefiles import private_dir

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
ID_PATTERN = r"\d{8}T\d{6}Z"
DUMP_SUFFIX = ".dump"
MANIFEST_SUFFIX = ".manifest.json"
CHUNK = 1024 * 1024
MANIFEST_VERSION = 1
_NAME = re.compile(rf"^(?P<series>.+)-(?P<id>{ID_PATTERN})-v(?P<version>.+)\.dump$")


class BackupFailed(SchemasyncError):
    """The dump could not be written; nothing was left behind."""


def safe_part(text: str) -> str:
    """A file-name and S3-key friendly form of a database name, environment or version."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "_"


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(STAMP_FORMAT)


def parse_stamp(text: str) -> datetime:
    return datetime.strptime(text, STAMP_FORMAT).replace(tzinfo=UTC)


def dump_name(database: str, env: str, backup_id: str, version: str | None) -> str:
    return f"{safe_part(database)}-{safe_part(env)}-{backup_id}-v{safe_part(version or 'unknown')}{DUMP_SUFFIX}"


def manifest_path(dump: Path) -> Path:
    return dump.with_name(dump.name.removesuffix(DUMP_SUFFIX) + MANIFEST_SUFFIX)


def parse_name(name: str) -> dict[str, str] | None:
    """{'series', 'id', 'version'} from a dump's file name, or None when it is not one of ours."""
    match = _NAME.match(name)
    return match.groupdict() if match else None


_PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def plain_name(name: str) -> bool:
    """Whether `name` is a file name we would write ourselves: letters, digits, `_.-`, no dot first.

    Stricter than "no slash": a name from a bucket listing or a manifest is untrusted, and NUL, newlines,
    backslashes, `..` and leading dots (hidden files, `.`/`..`) have no place in a backup's name.
    """
    return _PLAIN_NAME.fullmatch(name) is not None


def confined(root: Path, name: str) -> Path:
    """`root / name` once `name` is a plain file name and the path, resolved, is directly inside `root`.

    Every place that writes a file whose name comes from outside (an S3 key) goes through here first,
    before anything is created; a ValueError names the refused name.
    """
    if not plain_name(name):
        raise ValueError(f"{name!r} is not a plain file name")
    path = root / name
    if path.resolve().parent != root.resolve():
        raise ValueError(f"{name!r} does not stay inside {root}")
    return path


def backup_root(settings: Settings) -> Path:
    """The backup directory; a relative one is taken relative to the project, not the current directory."""
    root = settings.backup_dir
    return root if root.is_absolute() else settings.project_dir / root


@dataclass(frozen=True, slots=True)
class Digest:
    """Size and SHA-256 of a file, plus SHA-256 of each part when it was hashed with a part size (for S3)."""

    size: int
    sha256: str
    part_size: int | None = None
    parts: tuple[bytes, ...] = ()

    def composite(self) -> str:
        """S3's checksum of the object: base64 SHA-256, or of the parts' digests with '-N' for multipart uploads."""
        if not self.parts:
            return base64.b64encode(bytes.fromhex(self.sha256)).decode()
        whole = hashlib.sha256(b"".join(self.parts)).digest()
        return f"{base64.b64encode(whole).decode()}-{len(self.parts)}"


def digest_file(path: Path, part_size: int | None = None) -> Digest:
    """Hash a file in 1 MiB reads; with `part_size`, also each part of that size (one pass, flat memory)."""
    whole = hashlib.sha256()
    parts: list[bytes] = []
    part = hashlib.sha256()
    in_part = 0
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK if part_size is None else min(CHUNK, part_size - in_part)):
            whole.update(chunk)
            size += len(chunk)
            if part_size is not None:
                part.update(chunk)
                in_part += len(chunk)
                if in_part == part_size:
                    parts.append(part.digest())
                    part, in_part = hashlib.sha256(), 0
    if part_size is not None and in_part:
        parts.append(part.digest())
    return Digest(size, whole.hexdigest(), part_size, tuple(parts))


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a dump is: written beside it and uploaded with it, never changed afterwards."""

    id: str
    database: str
    database_display: str
    environment: str
    app_version: str | None
    schema_version: str | None
    schema_hash: str | None
    server_version: str
    pg_dump_version: str
    tool_version: str
    file: str
    size: int
    sha256: str
    started_at: datetime
    finished_at: datetime
    format: str = "custom"
    snapshot: Mapping[str, Any] | None = None
    manifest_version: int = MANIFEST_VERSION
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def taken_at(self) -> datetime:
        return self.started_at

    @property
    def pg_dump_major(self) -> int:
        return int(self.pg_dump_version.split(".")[0])

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["finished_at"] = self.finished_at.isoformat()
        data["snapshot"] = dict(self.snapshot) if self.snapshot is not None else None
        extra = data.pop("extra")
        return {**extra, **data}

    def dumps(self) -> str:
        """The manifest as JSON, scrubbed of any secret that might have slipped into a field."""
        return secrets.scrub(json.dumps(self.to_json(), indent=2, default=str)) + "\n"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Manifest:
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        values = {k: v for k, v in data.items() if k in known}
        values["started_at"] = datetime.fromisoformat(values["started_at"])
        values["finished_at"] = datetime.fromisoformat(values["finished_at"])
        values["size"] = int(values["size"])
        return cls(**values, extra={k: v for k, v in data.items() if k not in known})

    @classmethod
    def loads(cls, text: str | bytes) -> Manifest:
        return cls.from_json(json.loads(text))


def ensure_dir(root: Path) -> None:
    """Create the backup directory owner-only (or make an existing one so); a clear error when that is impossible.

    Two backups starting together both create it: that race is harmless (see `privatefiles.private_dir`).
    """
    try:
        private_dir(root)
        if not os.access(root, os.W_OK | os.X_OK):
            raise PermissionError(f"no write permission on {root}")
    except OSError as exc:
        raise BackupFailed(
            f"The backup directory {root} cannot be used: {exc.strerror or exc}.",
            "Fix its permissions or point SCHEMASYNC_BACKUP_DIR (--backup-dir) at a writable directory.",
        ) from None
