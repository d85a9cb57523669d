"""The history page's entries: `schema_versions` rows, newest first, each with what it changed.

What a row changed is known in two ways. From the row itself: the number of changes the run applied,
its description, and whether its schema hash differs from the previous row that recorded one. And,
where schema snapshots are recorded (issue 7), from the snapshots themselves: `changes_between`
compares two `Schema` values with the engine's own diff and summary, the same lines `diff` prints.
`entries` takes the snapshot lookup as an argument (`snapshot(row) -> Schema | None`), so the page
lists snapshot changes for every pair of consecutive rows the lookup can answer, and the row's own
figures otherwise; with no snapshots stored, the lookup answers None for every row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from schemasync.diff import CompareOptions, analyse
from schemasync.diff.summary import summary_lines
from schemasync.history.versions import VersionRow
from schemasync.schema.model import Schema

SnapshotLookup = Callable[[VersionRow], Schema | None]


def no_snapshots(row: VersionRow) -> Schema | None:
    """The lookup while no snapshot store exists: nothing is recorded for any row."""
    return None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    row: VersionRow
    schema_changed: bool | None  # hash differs from the previous row with a hash; None: not known
    changes: tuple[str, ...] | None  # summary lines between the previous snapshot and this one

    @property
    def description_repeats_changes(self) -> bool:
        """Whether the row's description is only `changes` again (what sync records), so the page shows it once."""
        if not self.changes or not self.row.description:
            return False
        found = "; ".join(line.removeprefix("Found ") for line in self.changes if line.startswith("Found "))
        return self.row.description == found


def changes_between(older: Schema, newer: Schema) -> tuple[str, ...]:
    """What it took to get from `older` to `newer`, as `diff` summarises a plan (drops included)."""
    schemas = tuple(sorted({t.schema for t in (*older.tables, *newer.tables)} | set(older.schemas + newer.schemas)))
    diff = analyse(older, newer, CompareOptions(prune=True, include_schemas=schemas))
    return tuple(summary_lines(diff)) or ("No schema changes",)


def entries(rows: Sequence[VersionRow], snapshot: SnapshotLookup = no_snapshots) -> list[HistoryEntry]:
    """`rows` newest first, as `versions.history` returns them."""
    out: list[HistoryEntry] = []
    for i, row in enumerate(rows):
        older = rows[i + 1 :]
        changed: bool | None = None
        if row.schema_hash:
            previous = next((r.schema_hash for r in older if r.schema_hash), None)
            changed = None if previous is None else previous != row.schema_hash
        changes: tuple[str, ...] | None = None
        mine = snapshot(row)
        if mine is not None and older:
            before = snapshot(older[0])
            if before is not None:
                changes = changes_between(before, mine)
        out.append(HistoryEntry(row, changed, changes))
    return out
