"""Taking a backup: pg_dump to a private file, hashed, described by a manifest, then stored off the machine.

A backup is good only when it is known to be good. pg_dump writes the custom-format archive to a hidden
temporary file in the backup directory (a real file, not a pipe, so the archive carries the data offsets
that parallel and selective `pg_restore` need); the file is then hashed in chunks (memory stays flat
whatever the size), flushed to disk, and renamed into place; the manifest, written the same way, is
renamed last and is the mark of a complete backup. Any failure (pg_dump exits non-zero, the disk fills
up, a file size limit is hit, Ctrl-C) removes the temporary files, so nothing that looks like a backup
is left behind. Files are created readable by their owner only (0600).

`take_backup` is the one entry point for commands and flows: it checks the S3 bucket before dumping
(so a missing bucket fails in a second, not after an hour of pg_dump), dumps, and uploads and verifies
when a bucket is configured.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from schemasync import __version__, db, pgtools, secrets
from schemasync.config import Settings
from schemasync.errors import SchemasyncError
from schemasync.history import versions
from schemasync.units import human_size

if TYPE_CHECKING:
    import psycopg

    from schemasync.storage import StoredBackup

log = logging.getLogger(__name__)

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
ID_PATTERN = r"\d{8}T\d{6}Z"
DUMP_SUFFIX = ".dump"
MANIFEST_SUFFIX = ".manifest.json"
CHUNK = 1024 * 1024
MANIFEST_VERSION = 1
_NAME = re.compile(rf"^(?P<series>.+)-(?P<id>{ID_PATTERN})-v(?P<version>.+)\.dump$")


class BackupFailed(SchemasyncError):
    """The dump could not be written; nothing was left behind."""


class UploadFailed(SchemasyncError):
    """The dump is good locally but could not be stored (or verified) off the machine."""

    def __init__(self, message: str, hint: str | None = None, *, backup: TakenBackup | None = None) -> None:
        super().__init__(message, hint)
        self.backup = backup


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


@dataclass(frozen=True, slots=True)
class TakenBackup:
    """A backup that was written and verified: the local dump and, when uploaded, its verified S3 copy."""

    manifest: Manifest
    path: Path
    remote: StoredBackup | None = None

    @property
    def id(self) -> str:
        return self.manifest.id

    @property
    def location(self) -> str:
        """Where the backup that counts lives: the S3 URI when it was uploaded, else the local path."""
        return self.remote.location if self.remote is not None else str(self.path)

    @property
    def restore_command(self) -> str:
        env = "" if self.manifest.environment == "development" else f" --env {self.manifest.environment}"
        return f"schemasync restore {self.location if self.remote is not None else self.id}{env}"


def _private_write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_dir(root: Path) -> None:
    """Create the backup directory (owner-only) if needed; a clear error when that is impossible."""
    try:
        root.mkdir(parents=True, mode=0o700, exist_ok=True)  # two backups starting together both create it
        if not os.access(root, os.W_OK | os.X_OK):
            raise PermissionError(f"no write permission on {root}")
    except OSError as exc:
        raise BackupFailed(
            f"The backup directory {root} cannot be used: {exc.strerror or exc}.",
            "Fix its permissions or point SCHEMASYNC_BACKUP_DIR (--backup-dir) at a writable directory.",
        ) from None


@dataclass(frozen=True, slots=True)
class _Facts:
    server_version: str
    server_major: int
    schema_version: str | None
    schema_hash: str | None
    snapshot: Mapping[str, Any] | None = None  # the schema as the dump starts, for `compare` (snapshots.py)


def _database_facts(conn_db: db.Database, settings: Settings) -> _Facts:
    with db.session(conn_db, settings) as conn:
        server_version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        major = pgtools.server_major(conn.info.server_version)
        latest = versions.latest(conn)
        snapshot = _snapshot(conn, settings)
    return _Facts(
        server_version.split(" ", maxsplit=1)[0],
        major,
        latest.schema_version if latest else None,
        latest.schema_hash if latest else None,
        snapshot,
    )


def _snapshot(conn: psycopg.Connection, settings: Settings) -> dict[str, Any] | None:
    """The schema for the manifest (what `compare` reads); best effort: a backup never fails for it."""
    import psycopg

    from schemasync.history import snapshots
    from schemasync.schema.inspect import inspect

    try:
        db.set_timeouts(conn, lock_timeout=settings.lock_timeout, statement_timeout=settings.statement_timeout)
        return snapshots.manifest_entry(snapshots.without_own_tables(inspect(conn)))
    except psycopg.Error as exc:
        log.warning("The manifest will carry no schema snapshot: %s", secrets.scrub(str(exc).strip().splitlines()[0]))
        return None


def _dump_error(stderr: str, returncode: int, root: Path, settings: Settings, target: db.Database) -> BackupFailed:
    text = secrets.scrub(stderr)
    first = pgtools.first_error(stderr)
    if returncode < 0:
        import signal

        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        reason = " (the file size limit, ulimit -f, was reached)" if name == "SIGXFSZ" else ""
        return BackupFailed(
            f"pg_dump was stopped by signal {name}{reason}; no backup was written.",
            "Raise the limit or free the resource and run the backup again.",
        )
    if re.search(r"No space left on device", text):
        free = shutil.disk_usage(root).free if root.exists() else 0
        return BackupFailed(
            f"The disk holding {root} is full ({free / 1048576:,.0f} MB free); pg_dump could not finish and no backup was written.",
            "Free some space (schemasync backups prune removes old backups) or set SCHEMASYNC_BACKUP_DIR to a larger disk.",
        )
    if re.search(r"File too large", text):
        return BackupFailed(
            f"pg_dump hit the file size limit while writing to {root}; no backup was written.",
            "Raise the limit (ulimit -f) or use a file system that allows files this large.",
        )
    if re.search(r"could not obtain lock|lock timeout", text) or (
        "LOCK TABLE" in text and "statement timeout" in text  # --lock-wait-timeout works through statement_timeout
    ):
        return BackupFailed(
            f"pg_dump could not lock a table of {target.display} within {settings.lock_timeout:g}s "
            f"(another session holds a conflicting lock); no backup was written.",
            "Wait for that session to finish and run again, or raise SCHEMASYNC_LOCK_TIMEOUT.",
        )
    if re.search(r"permission denied", text):
        return BackupFailed(
            f"pg_dump was refused access on {target.display}: {first}; no backup was written.",
            "Back up as a user that may read every table (for example a member of pg_read_all_data).",
        )
    if re.search(r"server version mismatch", text):
        return BackupFailed(
            f"pg_dump is older than the server of {target.display}: {first}.",
            "Install the client programs of the server's version or set SCHEMASYNC_PG_BIN_DIR.",
        )
    return BackupFailed(
        f"pg_dump failed on {target.display}: {first}; no backup was written.",
        "Run with --debug for pg_dump's full output.",
    )


def _reserve_id(root: Path, database: str, env: str, backup_id: str) -> Path | None:
    """Claim `backup_id` for one backup of `database`, or None when it is taken.

    Ids have one-second resolution, and two deployments of one database (threads of one process, or two
    processes) can dump in the same second: checking for an existing dump and then writing is a race that
    made both write the same temporary file. An exclusively created marker is the claim; its `.tmp-` name
    is swept with other leftovers if a killed process leaves it behind.
    """
    prefix = f"{safe_part(database)}-{safe_part(env)}-{backup_id}"
    if any(root.glob(f"{prefix}-v*{DUMP_SUFFIX}")):
        return None
    marker = root / f".{prefix}.tmp-claim"
    try:
        os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return None
    return marker


def write_dump(
    settings: Settings,
    target: db.Database,
    *,
    schema_hash: str | None = None,
    snapshot: Mapping[str, Any] | None = None,
    now: Callable[[], datetime] | None = None,
    part_size_for: Callable[[int], int | None] | None = None,
) -> tuple[Path, Manifest, Digest]:
    """pg_dump `target` into the backup directory; return the dump's path, its manifest (both on disk), its digest.

    `part_size_for(size)` asks for the parts' digests too (an S3 multipart checksum), in the same pass.
    """
    clock = now or (lambda: datetime.now(UTC))
    facts = _database_facts(target, settings)
    tool = pgtools.find("pg_dump", facts.server_major, settings=settings)
    root = backup_root(settings)
    ensure_dir(root)
    app_version = settings.app_version

    started = clock()
    backup_id = stamp(started)
    reservation = _reserve_id(root, target.name, settings.env, backup_id)
    while reservation is None:
        if now is not None:  # an injected clock that repeats itself is a caller's bug, not something to wait out
            raise BackupFailed(f"A backup with id {backup_id} already exists in {root}.", "Use a different time.")
        time.sleep(1.0 - (time.time() % 1.0) + 0.01)  # ids have one-second resolution: wait for the next one
        started = clock()
        backup_id = stamp(started)
        reservation = _reserve_id(root, target.name, settings.env, backup_id)
    name = dump_name(target.name, settings.env, backup_id, app_version)
    final = root / name
    tmp = root / f".{name}.tmp-{os.getpid()}"
    manifest_tmp = root / f".{manifest_path(final).name}.tmp-{os.getpid()}"
    log.info("Backing up %s with %s %s to %s", target.display, tool.name, tool.version, final)
    try:
        _private_write(tmp, b"")
        cmd = [tool.path, "--format=custom", f"--file={tmp}", "--no-password"]
        if settings.lock_timeout > 0:
            cmd.append(f"--lock-wait-timeout={max(1, int(settings.lock_timeout * 1000))}")
        with pgtools.client_env(target, settings, application_name="schemasync backup") as (env, args):
            proc = subprocess.run(
                [*cmd, *args],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                umask=0o077,
                check=False,
            )
        stderr = proc.stderr.decode("utf-8", "replace")
        if proc.returncode != 0:
            log.debug("pg_dump output:\n%s", secrets.scrub(stderr))
            raise _dump_error(stderr, proc.returncode, root, settings, target)
        try:
            os.chmod(tmp, 0o600)
            _fsync_path(tmp)
            digest = digest_file(tmp, part_size_for(tmp.stat().st_size) if part_size_for else None)
            finished = clock()
            manifest = Manifest(
                id=backup_id,
                database=target.name,
                database_display=target.display,
                environment=settings.env,
                app_version=app_version,
                schema_version=facts.schema_version,
                schema_hash=schema_hash or facts.schema_hash,
                server_version=facts.server_version,
                pg_dump_version=tool.version,
                tool_version=f"schemasync {__version__}",
                file=name,
                size=digest.size,
                sha256=digest.sha256,
                started_at=started,
                finished_at=max(finished, started),
                snapshot=snapshot if snapshot is not None else facts.snapshot,
            )
            _private_write(manifest_tmp, manifest.dumps().encode())
            os.replace(tmp, final)
            os.replace(manifest_tmp, manifest_path(final))
            _fsync_path(root)
        except OSError as exc:
            full = exc.errno == 28  # ENOSPC
            raise BackupFailed(
                f"Writing the backup to {root} failed: {exc.strerror or exc}; no backup was written.",
                "Free some space (schemasync backups prune) or set SCHEMASYNC_BACKUP_DIR to a larger disk."
                if full
                else "Check the backup directory's permissions and disk.",
            ) from None
    except BaseException:
        for leftover in (tmp, manifest_tmp, final if not manifest_path(final).exists() else None):
            if leftover is not None:
                with contextlib.suppress(OSError):
                    leftover.unlink()
        raise
    finally:
        with contextlib.suppress(OSError):
            reservation.unlink()
    log.info("Wrote %s (%s, sha256 %s)", final, human_size(manifest.size), manifest.sha256[:12])
    return final, manifest, digest


def take_backup(
    settings: Settings,
    target: db.Database,
    *,
    schema_hash: str | None = None,
    snapshot: Mapping[str, Any] | None = None,
    upload: bool = True,
    now: Callable[[], datetime] | None = None,
) -> TakenBackup:
    """Dump `target`, and upload and verify the dump when a bucket is configured; return where it is.

    Raises BackupFailed when no good local dump could be written, and UploadFailed (carrying the good
    local backup as `.backup`) when the upload or its verification failed: callers decide whether a
    local-only backup is enough (a local sync may carry on; the production workflow must stop).
    """
    store = None
    if upload and settings.s3_bucket:
        from schemasync.s3store import S3Store

        store = S3Store(settings)
        store.preflight()
    path, manifest, digest = write_dump(
        settings,
        target,
        schema_hash=schema_hash,
        snapshot=snapshot,
        now=now,
        part_size_for=store.part_size if store is not None else None,
    )
    local = TakenBackup(manifest, path)
    if store is None:
        return local
    try:
        remote = store.put(path, manifest, digest=digest)
    except SchemasyncError as exc:
        raise UploadFailed(
            f"{exc.message} The local backup {path} is good but is not stored off this machine.",
            exc.hint,
            backup=local,
        ) from exc
    return TakenBackup(manifest, path, remote)
