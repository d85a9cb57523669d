"""Backup stores: the local backup directory (here) and an S3 bucket (`s3.py`), behind one small interface.

Both stores keep a dump and its manifest side by side, and both treat the manifest as the mark of a
complete backup: locally it is renamed into place after the dump; in S3 it is uploaded only after the
dump object was verified. A dump without a manifest is therefore never reported as good.

Which stores a configuration uses, and which backup a reference names, is `locate.py`'s business.
"""

from __future__ import annotations

import builtins
import contextlib
import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from schemasync.backups.format import (
    DUMP_SUFFIX,
    MANIFEST_SUFFIX,
    Digest,
    Manifest,
    digest_file,
    manifest_path,
    parse_name,
    parse_stamp,
    safe_part,
)
from schemasync.errors import SchemasyncError
from schemasync.units import human_size

log = logging.getLogger(__name__)

INCOMPLETE_GRACE = 3600.0  # a dump without manifest younger than this may still be being written


class StoreError(SchemasyncError):
    """A store could not be read or written."""


class Corrupt(SchemasyncError):
    """A backup's bytes do not match its manifest."""


@dataclass(frozen=True, slots=True)
class StoredBackup:
    """One backup in one store, as listed: what it is, where, and whether it is complete and consistent."""

    id: str
    database: str
    environment: str
    app_version: str | None
    taken_at: datetime
    modified_at: datetime
    store: str
    location: str
    size: int
    manifest: Manifest | None
    problem: str | None = None
    key: str | None = None

    @property
    def verified(self) -> bool:
        return self.manifest is not None and self.problem is None

    @property
    def series(self) -> tuple[str, str]:
        return (self.database, self.environment)

    def belongs_to(self, database: str, environment: str) -> bool:
        """Whether this is a backup of `database` in `environment` (by file name when the manifest is missing)."""
        if self.environment:
            return self.series == (database, environment)
        return self.database == f"{safe_part(database)}-{safe_part(environment)}"  # "<db>-<env>" from the name

    @property
    def schema_version(self) -> str | None:
        return self.manifest.schema_version if self.manifest else None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "store": self.store,
            "location": self.location,
            "database": self.database,
            "environment": self.environment,
            "taken_at": self.taken_at.isoformat(),
            "size": self.size,
            "app_version": self.app_version,
            "schema_version": self.schema_version,
            "sha256": self.manifest.sha256 if self.manifest else None,
            "verified": self.verified,
            "problem": self.problem,
        }


@dataclass(frozen=True, slots=True)
class BackupCheck:
    """Outcome of checking one stored backup's SHA-256 and size against its manifest (not a deploy check)."""

    backup: StoredBackup
    ok: bool
    detail: str


class Store(Protocol):
    kind: str

    def describe(self) -> str: ...
    def list(self) -> list[StoredBackup]: ...
    def verify(self, item: StoredBackup) -> BackupCheck: ...
    def fetch(self, item: StoredBackup, dest_dir: Path) -> Path: ...
    def delete(self, item: StoredBackup) -> None: ...


def newest_first(items: list[StoredBackup]) -> list[StoredBackup]:
    return sorted(items, key=lambda i: (i.taken_at, i.id, i.store == "local"), reverse=True)


def check_digest(item: StoredBackup, digest: Digest) -> str | None:
    assert item.manifest is not None
    if digest.size != item.manifest.size:
        return f"size {digest.size:,} bytes, manifest says {item.manifest.size:,}"
    if digest.sha256 != item.manifest.sha256:
        return f"SHA-256 {digest.sha256[:16]}…, manifest says {item.manifest.sha256[:16]}…"
    return None


# --------------------------------------------------------------------------------------------------
# Local directory


class LocalStore:
    """The backup directory on this machine."""

    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return str(self.root)

    def item(self, dump: Path) -> StoredBackup:
        """The backup whose dump (or manifest) is at `dump`, read from disk."""
        if dump.name.endswith(MANIFEST_SUFFIX):
            dump = dump.with_name(dump.name.removesuffix(MANIFEST_SUFFIX) + DUMP_SUFFIX)
        mpath = manifest_path(dump)
        manifest: Manifest | None = None
        problem: str | None = None
        if mpath.is_file():
            try:
                manifest = Manifest.loads(mpath.read_bytes())
            except (OSError, ValueError, KeyError, TypeError) as exc:
                problem = f"manifest unreadable ({type(exc).__name__})"
        else:
            problem = "no manifest: incomplete or not made by schemasync"
        parsed = parse_name(dump.name) or {}
        exists = dump.is_file()
        stat = dump.stat() if exists else (mpath.stat() if mpath.exists() else None)
        size = dump.stat().st_size if exists else 0
        if not exists:
            problem = "dump file missing"
        elif manifest is not None and size != manifest.size:
            problem = f"size {size:,} bytes, manifest says {manifest.size:,}"
        backup_id = manifest.id if manifest else parsed.get("id", dump.stem)
        series = parsed.get("series", "")
        return StoredBackup(
            id=backup_id,
            database=manifest.database if manifest else series,
            environment=manifest.environment if manifest else "",
            app_version=manifest.app_version if manifest else parsed.get("version"),
            taken_at=manifest.started_at if manifest else _stamp_or_mtime(backup_id, stat),
            modified_at=datetime.fromtimestamp(stat.st_mtime, UTC) if stat else datetime.now(UTC),
            store=self.kind,
            location=str(dump),
            size=size,
            manifest=manifest,
            problem=problem,
        )

    def list(self) -> list[StoredBackup]:
        if not self.root.is_dir():
            return []
        names = {p.name for p in self.root.iterdir() if not p.name.startswith(".")}
        dumps = {n for n in names if n.endswith(DUMP_SUFFIX)}
        dumps |= {
            n.removesuffix(MANIFEST_SUFFIX) + DUMP_SUFFIX for n in names if n.endswith(MANIFEST_SUFFIX)
        }  # a manifest whose dump is gone is listed too: it is damage worth seeing
        return newest_first([self.item(self.root / n) for n in dumps if parse_name(n)])

    def verify(self, item: StoredBackup) -> BackupCheck:
        if item.manifest is None or not Path(item.location).is_file():
            return BackupCheck(item, False, item.problem or "no manifest to check against")
        problem = check_digest(item, digest_file(Path(item.location)))
        if problem is None and item.manifest.file != Path(item.location).name:
            problem = f"the manifest names the file {item.manifest.file!r}, not {Path(item.location).name!r}"
        if problem:
            return BackupCheck(item, False, problem)
        return BackupCheck(item, True, f"SHA-256 and size match the manifest ({human_size(item.size)})")

    def fetch(self, item: StoredBackup, dest_dir: Path) -> Path:
        """The local dump itself, after re-hashing it against its manifest."""
        result = self.verify(item)
        if not result.ok:
            raise Corrupt(
                f"The backup {item.location} does not match its manifest: {result.detail}.",
                "Do not use this copy; restore from another one (for example its S3 copy: schemasync backups list).",
            )
        return Path(item.location)

    def delete(self, item: StoredBackup) -> None:
        dump = Path(item.location)
        for path in (manifest_path(dump), dump):  # the manifest first: a dump without one is never "good"
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def stale_temporaries(self, older_than: float = INCOMPLETE_GRACE) -> builtins.list[Path]:
        """Hidden temporary files left by a backup that was killed (never by one still running)."""
        if not self.root.is_dir():
            return []
        cutoff = time.time() - older_than
        return [
            p
            for p in self.root.iterdir()
            if p.name.startswith(".") and ".tmp-" in p.name and p.is_file() and p.stat().st_mtime < cutoff
        ]


def _stamp_or_mtime(backup_id: str, stat: os.stat_result | None) -> datetime:
    try:
        return parse_stamp(backup_id)
    except ValueError:
        return datetime.fromtimestamp(stat.st_mtime, UTC) if stat else datetime.now(UTC)
