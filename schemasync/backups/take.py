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

import contextlib
import logging
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from schemasync import __version__, db, pgtools, secrets
from schemasync.backups.format import (
    DUMP_SUFFIX,
    BackupFailed,
    Digest,
    Manifest,
    backup_root,
    digest_file,
    dump_name,
    ensure_dir,
    manifest_path,
    safe_part,
    stamp,
)
from schemasync.backups.s3 import S3Store
from schemasync.backups.store import StoredBackup
from schemasync.config import Settings
from schemasync.errors import SchemasyncError
from schemasync.history import snapshots, versions
from schemasync.privatefiles import fsync_path, open_private, write_private
from schemasync.schema.inspect import inspect
from schemasync.units import human_size

log = logging.getLogger(__name__)


class UploadFailed(SchemasyncError):
    """The dump is good locally but could not be stored (or verified) off the machine."""

    def __init__(self, message: str, hint: str | None = None, *, backup: TakenBackup | None = None) -> None:
        super().__init__(message, hint)
        self.backup = backup


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
        open_private(marker).close()
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
    log.info("Backing up %s with %s %s to %s", target.display, tool.name, tool.version, final)
    try:
        open_private(tmp).close()
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
            fsync_path(tmp)
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
            os.replace(tmp, final)
            write_private(manifest_path(final), manifest.dumps(), durable=True)  # last: the mark of a good backup
            fsync_path(root)
        except OSError as exc:
            full = exc.errno == 28  # ENOSPC
            raise BackupFailed(
                f"Writing the backup to {root} failed: {exc.strerror or exc}; no backup was written.",
                "Free some space (schemasync backups prune) or set SCHEMASYNC_BACKUP_DIR to a larger disk."
                if full
                else "Check the backup directory's permissions and disk.",
            ) from None
    except BaseException:
        for leftover in (tmp, final if not manifest_path(final).exists() else None):
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
