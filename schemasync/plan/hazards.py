"""What can go wrong with a statement, as a closed set of kinds, each with the fact behind it.

Hazards are attached by the code that chose the SQL (`plan/<kind>.py`), because the same change has
different risks in different forms: a concurrent index build blocks no writes but runs outside the
transaction; a blocking one is atomic but stops writes for the whole build. The executor refuses a
plan with a hazard kind the caller did not allow.

Facts that need the data (how many rows violate a new constraint) start as a `Probe`; `plan/facts.py`
runs all probes of a plan in a bounded number of queries and replaces each with its count.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class HazardKind(StrEnum):
    DELETES_DATA = "deletes_data"  # rows or values are gone afterwards (drop table/column, lossy cast)
    DATA_DEPENDENT = "data_dependent"  # succeeds or fails depending on the rows (NOT NULL, UNIQUE, casts)
    LOCKING = "locking"  # holds a lock that blocks reads or writes for a table rewrite or full scan
    INDEX_BUILD = "index_build"  # builds an index: time and I/O proportional to the table
    INDEX_DROPPED = "index_dropped"  # queries relying on the index may become slow
    CORRECTNESS = "correctness"  # changes behaviour the running app may rely on, or is not atomic


@dataclass(frozen=True, slots=True)
class Probe:
    """A count to take before applying: rows of `table` matching `predicate`, or duplicate groups."""

    schema: str
    table: str  # the table's name before the plan runs
    kind: Literal["rows", "where", "duplicates"]
    predicate: str = ""  # SQL over the table's columns (aliased `t`), for "where" and "duplicates"
    columns: tuple[str, ...] = ()  # SQL expressions grouped for "duplicates"
    template: str = "{count} rows"  # the fact once counted; {count} is filled in


@dataclass(frozen=True, slots=True)
class Hazard:
    kind: HazardKind
    fact: str
    violations: int | None = None  # counted rows that make the statement fail (0: it will succeed)
    estimated: bool = False  # `violations` is the planner's estimate, not a count
    probe: Probe | None = None  # still to be counted

    @property
    def blocking(self) -> bool:
        """Counted (not estimated) violations: the statement is certain to fail as things stand."""
        return self.kind is HazardKind.DATA_DEPENDENT and bool(self.violations) and not self.estimated

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": str(self.kind),
            "fact": self.fact,
            "violations": self.violations,
            "estimated": self.estimated,
        }


LOCKING_MIN_BYTES = 1024 * 1024  # below this a scan or rewrite is over before anyone notices


def rows(n: int) -> str:
    return f"{n:,} row" + ("" if n == 1 else "s")
