"""Pruning: what `retention` decides over every store, carried out, plus the housekeeping of killed backups.

`plan` reads the stores and decides (nothing is touched, so a dry run is the plan alone); `run` deletes
what the plan says, removes the hidden temporary files a killed backup or download left, and aborts
multipart uploads that an earlier failed attempt could not abort or that are older than a day. A store
that cannot be read, or a deletion that fails, is reported in the result and stops nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from schemasync.backups.locate import Listing, listing
from schemasync.backups.retention import Decision, decide
from schemasync.backups.s3 import STALE_UPLOAD_AGE, S3Store
from schemasync.backups.store import LocalStore
from schemasync.config import Settings
from schemasync.errors import SchemasyncError


@dataclass(frozen=True, slots=True)
class PrunePlan:
    decisions: tuple[Decision, ...]
    listing: Listing
    leftovers: tuple[Path, ...]  # hidden temporary files of a killed backup or download

    @property
    def deletions(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.delete)


@dataclass(frozen=True, slots=True)
class PruneResult:
    deleted: tuple[Decision, ...]
    removed: tuple[Path, ...]  # leftover temporary files removed
    aborted: tuple[str, ...]  # keys of aborted multipart uploads
    failed: tuple[str, ...]  # what could not be done, one line each


def plan(
    settings: Settings,
    *,
    keep: int,
    max_age: float | None,
    series: tuple[str, str] | None,
    local_only: bool = False,
    now: datetime | None = None,
) -> PrunePlan:
    """Decide over every store (only `series`' backups when given, every series with None); delete nothing."""
    found = listing(settings, local_only=local_only, series=series)
    decisions = decide(list(found.items), keep=keep, max_age=max_age, now=now or datetime.now(UTC))
    local = next(s for s in found.stores if isinstance(s, LocalStore))
    return PrunePlan(tuple(decisions), found, tuple(local.stale_temporaries()))


def run(planned: PrunePlan) -> PruneResult:
    """Carry out `planned`: delete, sweep leftovers, abort stale uploads; failures are collected, not raised."""
    deleted: list[Decision] = []
    failed: list[str] = []
    for d in planned.deletions:
        store = next(s for s in planned.listing.stores if s.kind == d.backup.store)
        try:
            store.delete(d.backup)
            deleted.append(d)
        except SchemasyncError as exc:
            failed.append(f"{d.backup.location}: {exc.message}")
    for path in planned.leftovers:
        path.unlink(missing_ok=True)
    aborted: list[str] = []
    for store in planned.listing.stores:
        if isinstance(store, S3Store) and planned.listing.readable(store):
            try:
                aborted += store.abort_abandoned()  # uploads an earlier failed attempt could not abort
                aborted += store.abort_incomplete(older_than=STALE_UPLOAD_AGE)
            except Exception as exc:  # housekeeping only: say so, do not fail the prune
                failed.append(f"aborting stale multipart uploads: {store.explain(exc, 'listing uploads').message}")
    return PruneResult(tuple(deleted), planned.leftovers, tuple(aborted), tuple(failed))
