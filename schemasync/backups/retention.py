"""Which backups a prune deletes: a pure function of the listing, the rules and the time.

Per store and per series (database, environment), newest first: a verified backup is deleted when it is
beyond the newest `keep` verified ones or older than `max_age`; the newest verified backup is kept
whatever the rules say (a retention policy must never leave a database with no good backup). Backups
that are not verified (no manifest, damaged) hold no slot; they are deleted once older than a grace
period, so one still being written or uploaded is never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemasync.backups.store import INCOMPLETE_GRACE, StoredBackup, newest_first


@dataclass(frozen=True, slots=True)
class Decision:
    backup: StoredBackup
    delete: bool
    reason: str


def describe_age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def decide(
    items: list[StoredBackup],
    *,
    keep: int,
    max_age: float | None,
    now: datetime,
    grace: float = INCOMPLETE_GRACE,
) -> list[Decision]:
    """One decision per item, newest first within each (store, database, environment) series."""
    if keep < 1:
        raise ValueError("keep must be at least 1")
    series: dict[tuple[str, str, str], list[StoredBackup]] = {}
    for item in newest_first(items):
        series.setdefault((item.store, item.database, item.environment), []).append(item)
    decisions: list[Decision] = []
    for members in series.values():
        verified = [i for i in members if i.verified]
        for item in members:
            if item.verified:
                rank = verified.index(item)
                age = (now - item.taken_at).total_seconds()
                if rank == 0:
                    decisions.append(Decision(item, False, "newest verified backup: always kept"))
                elif rank >= keep:
                    decisions.append(Decision(item, True, f"beyond the newest {keep}"))
                elif max_age is not None and age > max_age:
                    decisions.append(Decision(item, True, f"older than {describe_age(max_age)}"))
                else:
                    decisions.append(Decision(item, False, f"within the newest {keep}"))
            elif (now - item.modified_at).total_seconds() > grace:
                decisions.append(Decision(item, True, f"not a good backup ({item.problem})"))
            else:
                decisions.append(Decision(item, False, "incomplete but recent: may still be in progress"))
    return decisions
