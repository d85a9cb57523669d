"""Schema value x schema value -> an ordered list of typed changes; a comparator module per object kind.

`compare(current, desired, options)` gives the changes; `analyse` the changes plus what was left
alone, rename suggestions and the source hash. See `changes.py` for the closed set of change types
and `order.py` for the phase list.
"""

from schemasync.diff.compare import Diff, Unmanaged, analyse, compare
from schemasync.diff.renames import Renames, RenameSuggestion
from schemasync.diff.scope import CompareOptions

__all__ = [
    "CompareOptions",
    "Diff",
    "RenameSuggestion",
    "Renames",
    "Unmanaged",
    "analyse",
    "compare",
]
