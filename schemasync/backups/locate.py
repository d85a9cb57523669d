"""Finding backups across the stores: which stores a configuration uses, what they hold, what a reference names.

Every front end asks here (the CLI's `backups list|verify|prune` and `restore`, the studio's backups
page, the restore flow), so they list the same backups, report an unreadable store the same way and
accept the same references. An id is the backup's UTC timestamp, unique per database and environment,
short enough to type; `find_backups` also accepts `<db>-<env>-<timestamp>`, file names and paths, S3
URIs and `latest`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from schemasync import db
from schemasync.backups.format import DUMP_SUFFIX, MANIFEST_SUFFIX, backup_root, parse_name, safe_part
from schemasync.backups.s3 import S3Store, parse_s3_uri
from schemasync.backups.store import BackupCheck, LocalStore, Store, StoredBackup, StoreError, newest_first
from schemasync.config import Settings
from schemasync.db import embedded
from schemasync.errors import SchemasyncError

log = logging.getLogger(__name__)


def stores(settings: Settings, *, local_only: bool = False) -> list[Store]:
    """The stores this configuration uses: always the local directory, and S3 when a bucket is set."""
    found: list[Store] = [LocalStore(backup_root(settings))]
    if settings.s3_bucket and not local_only:
        found.append(S3Store(settings))
    return found


def series(settings: Settings, sources: dict[str, str]) -> tuple[str, str]:
    """(database name, environment) of the configured database as backups name it, without starting anything.

    The embedded server's database when no database is configured outside production (listing or
    pruning backups never needs the server running).
    """
    if settings.database_url is None and not settings.is_production:
        return (embedded.DBNAME, settings.env)
    return (db.resolve(settings, sources, start_embedded=False).name, settings.env)


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A store whose listing failed: reported beside what the other stores hold, never fatal to them."""

    kind: str
    where: str
    message: str


@dataclass(frozen=True, slots=True)
class Listing:
    """Every backup in the stores, newest first, and the stores that could not be read."""

    items: tuple[StoredBackup, ...]
    stores: tuple[Store, ...]
    unreadable: tuple[Unreadable, ...]

    def readable(self, store: Store) -> bool:
        return all(u.kind != store.kind for u in self.unreadable)


def listing(settings: Settings, *, local_only: bool = False, series: tuple[str, str] | None = None) -> Listing:
    """What every store holds (only `series`' backups when given); an unreadable store is noted, not raised."""
    used = stores(settings, local_only=local_only)
    items: list[StoredBackup] = []
    unreadable: list[Unreadable] = []
    for store in used:
        try:
            items.extend(store.list())
        except SchemasyncError as exc:
            unreadable.append(Unreadable(store.kind, store.describe(), f"{exc.message} {exc.hint or ''}".strip()))
    if series is not None:
        items = [i for i in items if i.belongs_to(*series)]
    return Listing(tuple(newest_first(items)), tuple(used), tuple(unreadable))


def holder(settings: Settings, item: StoredBackup) -> Store:
    """The store that holds `item` as `find_backups` or a listing returned it (its directory, its bucket)."""
    if item.store == LocalStore.kind:
        return LocalStore(Path(item.location).parent)
    return S3Store(settings, bucket=parse_s3_uri(item.location)[0])


def verify(settings: Settings, item: StoredBackup) -> BackupCheck:
    """Re-hash one copy of a backup against its manifest, where it is stored."""
    return holder(settings, item).verify(item)


def listed(settings: Settings, store_kind: str, location: str) -> StoredBackup | None:
    """The backup the configured `store_kind` store lists at `location`, else None.

    For a location from someone who may not choose any file or bucket (the studio's web page): only
    what the configured stores list is ever touched.
    """
    for store in stores(settings):
        if store.kind == store_kind:
            return next((i for i in store.list() if i.location == location), None)
    return None


def _names(item: StoredBackup) -> set[str]:
    name = item.location.rsplit("/", 1)[-1]
    stem = name.removesuffix(DUMP_SUFFIX)
    return {item.id, name, stem, f"{safe_part(item.database)}-{safe_part(item.environment)}-{item.id}"}


def _configured_s3(settings: Settings, bucket: str, key: str) -> bool:
    prefix = settings.s3_prefix.strip("/")
    return bucket == settings.s3_bucket and (not prefix or key.startswith(prefix + "/"))


def find_backups(
    ref: str,
    settings: Settings,
    *,
    local_root: Path,
    series: tuple[str, str] | None = None,
    confine: bool = False,
) -> list[StoredBackup]:
    """Every copy `ref` names, local copies first.

    `ref` is an S3 URI, a path to a dump (or its manifest), `latest` (the newest verified backup of
    `series`), or an id as `backups list` shows it: the timestamp, `<db>-<env>-<timestamp>`, or the file name.
    When S3 cannot be searched but a local copy matches, the local copy is enough (a restore must work
    while S3 is down).

    `confine` is for a `ref` from someone who does not control this machine (a flow run's parameter): a
    path must then lead (symbolic links resolved) into `local_root`, and an S3 URI into the configured
    bucket and prefix; a person at a terminal may name any file or bucket they can read.
    """
    ref = ref.strip()
    if ref.startswith("s3://"):
        bucket, key = parse_s3_uri(ref)
        if confine and not _configured_s3(settings, bucket, key):
            raise StoreError(
                f"{ref!r} is not in the configured bucket and prefix ({S3Store(settings).describe()}).",
                "Name a backup from schemasync backups list (an id, latest, or one of its s3:// URIs).",
            )
        return [S3Store(settings, bucket=bucket).item(key)]
    if "/" in ref or ref.endswith((DUMP_SUFFIX, MANIFEST_SUFFIX)):
        path = Path(ref).expanduser()
        if confine and path.resolve().parent != local_root.resolve():
            raise StoreError(
                f"{ref!r} is not a file of the backup directory {local_root}.",
                "Name a backup by its id (schemasync backups list) or a file inside the backup directory.",
            )
        for candidate in (path, local_root / path.name):
            if candidate.is_file() and parse_name(
                candidate.name.removesuffix(MANIFEST_SUFFIX) + DUMP_SUFFIX
                if candidate.name.endswith(MANIFEST_SUFFIX)
                else candidate.name
            ):
                return [LocalStore(candidate.parent).item(candidate)]
        if not path.exists() and not (local_root / path.name).exists():
            raise StoreError(
                f"There is no file {ref} (nor {path.name} in the backup directory {local_root}).",
                "Check the path; schemasync backups list shows every backup, with its id and location.",
            )
        if path.exists() or "/" in ref:
            raise StoreError(
                f"{ref} is not a schemasync backup file (<db>-<env>-<timestamp>-v<version>.dump with its manifest).",
                "Pass a path, an id or an S3 URI from schemasync backups list.",
            )

    def matching(items: list[StoredBackup]) -> list[StoredBackup]:
        if ref == "latest":
            return [i for i in items if i.verified and (series is None or i.belongs_to(*series))]
        return [i for i in items if ref in _names(i)]

    found = matching(LocalStore(local_root).list())
    if settings.s3_bucket:
        try:
            found += matching(S3Store(settings).list())
        except SchemasyncError as exc:
            if not found:
                raise
            log.warning("S3 could not be searched (%s); using the local copy", exc.message)
    if ref == "latest" and found:
        newest = max(found, key=lambda i: i.taken_at)
        found = [i for i in found if (i.id, i.series) == (newest.id, newest.series)]
    return found
