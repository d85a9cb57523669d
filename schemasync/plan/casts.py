"""What a column type change costs and risks: rewrite or not, lossy or not, which rows would fail.

Within a family of types that PostgreSQL converts by assignment (strings, numbers, date/time), the
change is made without USING: an assignment cast raises an error on a value that does not fit
(`value too long for type character varying(20)`) where an explicit cast would silently truncate
it. Across families, `USING column::new_type` is required and spelled out. Binary-coercible changes
(a longer varchar, varchar to text, a wider numeric with the same scale) rewrite nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemasync.diff.names import base_type, split_qualified
from schemasync.plan.sql import literal
from schemasync.schema.model import Schema

STRINGS = {"text", "character varying", "character", "name"}
INTEGERS = {"smallint": (-(2**15), 2**15 - 1), "integer": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}
NUMBERS = {*INTEGERS, "numeric", "real", "double precision"}
TIMES = {"timestamp without time zone", "timestamp with time zone", "date"}
FAMILIES = (STRINGS, NUMBERS, TIMES)
_TYPMOD = re.compile(r"^(?P<head>[^(]*)\((?P<args>\s*\d+(?:\s*,\s*\d+)*\s*)\)(?P<tail>.*)$")
_TEXT_PATTERNS = {  # values of a string column that a cast to these types would reject (before PostgreSQL 16)
    "smallint": r"^\s*[-+]?[0-9]+\s*$",
    "integer": r"^\s*[-+]?[0-9]+\s*$",
    "bigint": r"^\s*[-+]?[0-9]+\s*$",
    "numeric": r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$",
    "boolean": r"^\s*(t|tr|tru|true|f|fa|fal|fals|false|y|ye|yes|n|no|on|of|off|1|0)\s*$",
    "uuid": r"^\s*\{?[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}\}?\s*$",
}


@dataclass(frozen=True, slots=True)
class TypeName:
    base: str  # without modifiers or array brackets: "character varying", "numeric", "public.mood"
    mods: tuple[int, ...]
    dims: int

    @classmethod
    def parse(cls, text: str) -> TypeName:
        body, dims = base_type(text)
        match = _TYPMOD.match(body)
        if match:
            base = (match["head"].strip() + " " + match["tail"].strip()).strip()
            return cls(base, tuple(int(x) for x in match["args"].split(",")), dims)
        return cls(body.strip(), (), dims)


@dataclass(frozen=True, slots=True)
class Cast:
    using: str | None  # the USING expression, or None for an assignment cast
    rewrite: bool
    lossy: str | None = None  # what is lost, for a DELETES_DATA hazard
    can_fail: bool = False
    fail_predicate: str | None = None  # SQL true for the rows the cast rejects (None: cannot be counted)
    why: str = ""  # what makes it fail, in words


def _family(base: str) -> int | None:
    return next((i for i, fam in enumerate(FAMILIES) if base in fam), None)


def classify(col: str, old: str, new: str, desired: Schema, server_version: int) -> Cast:
    """`col` is the column as an SQL expression (quoted, maybe qualified): USING and predicates use it."""
    a, b = TypeName.parse(old), TypeName.parse(new)
    if a.dims != b.dims:
        return Cast(f"{col}::{new}", True, can_fail=True, why=f"values of {old} that do not convert to {new}")
    if a.dims:  # arrays: judge by the element type, but always spell the cast out
        inner = classify(col, a.base, b.base, desired, server_version)
        return Cast(f"{col}::{new}", True, inner.lossy, inner.can_fail, None, inner.why)
    if a.base == b.base:
        return _same_base(col, a, b)
    fa, fb = _family(a.base), _family(b.base)
    if fa is not None and fa == fb:
        return _same_family(col, a, b)
    enum = _enum_labels(b.base, desired)
    if enum is not None:
        source = f"{col}::text" if a.base not in STRINGS else col
        labels = ", ".join(literal(x) for x in enum)
        return Cast(
            f"{source}::{new}",
            True,
            can_fail=True,
            fail_predicate=f"{col}::text NOT IN ({labels})" if enum else f"{col} IS NOT NULL",
            why=f"values that are not labels of {b.base}",
        )
    if a.base in STRINGS:
        predicate = None
        if server_version >= 160000:
            predicate = f"NOT pg_input_is_valid({col}::text, {literal(new)})"
        elif b.base in _TEXT_PATTERNS:
            predicate = f"{col}::text !~ {literal(_TEXT_PATTERNS[b.base])}"
        return Cast(
            f"{col}::{new}", True, can_fail=True, fail_predicate=predicate, why=f"values that are not valid {new}"
        )
    if b.base in STRINGS:
        return Cast(f"{col}::{new}", True)
    return Cast(f"{col}::{new}", True, can_fail=True, why=f"values of {old} that do not convert to {new}")


def _same_base(col: str, a: TypeName, b: TypeName) -> Cast:
    if a.base in ("character varying", "bit varying"):
        if not b.mods or (a.mods and b.mods[0] >= a.mods[0]):
            return Cast(None, False)
        return Cast(None, True, can_fail=True, fail_predicate=f"char_length({col}) > {b.mods[0]}", why="longer values")
    if a.base == "numeric":
        if not b.mods:
            return Cast(None, False)
        p2, s2 = b.mods[0], (b.mods[1] if len(b.mods) > 1 else 0)
        p1, s1 = (a.mods[0], a.mods[1] if len(a.mods) > 1 else 0) if a.mods else (1000, 1000)
        if a.mods and s2 == s1 and p2 >= p1:
            return Cast(None, False)
        lossy = f"rounds values to {s2} decimal places" if s2 < s1 else None
        fits = p2 - s2 >= p1 - s1 and a.mods
        return Cast(
            None,
            True,
            lossy,
            can_fail=not fits,
            fail_predicate=None if fits else f"abs({col}) >= 1e{p2 - s2}",
            why=f"values with more than {p2 - s2} digits before the decimal point",
        )
    if a.base.startswith(("timestamp", "time ", "interval")) or a.base == "time":
        if not b.mods or (a.mods and b.mods[0] >= a.mods[0]):
            return Cast(None, False)
        return Cast(None, True, f"rounds fractional seconds to {b.mods[0]} digits")
    if a.base == "character":
        n = b.mods[0] if b.mods else 1
        return Cast(None, True, can_fail=True, fail_predicate=f"char_length({col}) > {n}", why="longer values")
    return Cast(None, True)


def _same_family(col: str, a: TypeName, b: TypeName) -> Cast:
    if a.base in STRINGS:
        if b.base == "text" or (b.base == "character varying" and not b.mods):
            return Cast(None, a.base == "character")
        n = b.mods[0] if b.mods else 1
        return Cast(None, True, can_fail=True, fail_predicate=f"char_length({col}) > {n}", why="longer values")
    if a.base in NUMBERS:
        if b.base in INTEGERS:
            low, high = INTEGERS[b.base]
            lossy = None if a.base in INTEGERS else "rounds fractional values to whole numbers"
            narrower = a.base not in INTEGERS or INTEGERS[a.base][1] > high
            return Cast(
                None,
                True,
                lossy,
                can_fail=narrower,
                fail_predicate=f"{col} NOT BETWEEN {low} AND {high}" if narrower else None,
                why=f"values outside the range of {b.base}",
            )
        if b.base == "numeric" and b.mods:
            p, s = b.mods[0], (b.mods[1] if len(b.mods) > 1 else 0)
            return Cast(
                None,
                True,
                f"rounds values to {s} decimal places" if a.base in ("real", "double precision", "numeric") else None,
                can_fail=True,
                fail_predicate=f"abs({col}) >= 1e{p - s}",
                why=f"values with more than {p - s} digits before the decimal point",
            )
        lossy = "may lose precision (floating point)" if b.base in ("real", "double precision") else None
        return Cast(None, True, lossy)
    if b.base == "date":
        return Cast(None, True, "drops the time of day")
    return Cast(None, True)


def _enum_labels(base: str, desired: Schema) -> tuple[str, ...] | None:
    schema, name = split_qualified(base)
    enum = desired.enum(schema or "public", name)
    return enum.labels if enum is not None else None
