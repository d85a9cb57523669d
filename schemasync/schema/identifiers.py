"""PostgreSQL's 63-byte names: models whose names would collide once PostgreSQL truncates them are refused.

PostgreSQL keeps the first 63 bytes of an identifier (NAMEDATALEN - 1), cut at a character boundary,
and drops the rest with only a NOTICE. Two names that share their first 63 bytes become one name:
two columns then fail as "specified more than once", a second table or index as "already exists",
far from the models that caused it. SQLAlchemy checks some names, by characters; a name of
non-ASCII letters can be well under 63 characters and over 63 bytes. So the models' names are checked
here, by bytes, before anything is compiled: a collision is a ConfigError naming both names; a long
name that collides with nothing is allowed (PostgreSQL truncates it in queries too), with a warning.
Names the naming convention makes are checked as SQLAlchemy sends them (`emitted`): it shortens the
long ones itself, with a hash that keeps them apart.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from schemasync.errors import ConfigError
from schemasync.schema.loading import DEFAULT_SCHEMA

if TYPE_CHECKING:
    from sqlalchemy import MetaData

log = logging.getLogger(__name__)

MAX_BYTES = 63


def truncated(name: str) -> str:
    """The name as PostgreSQL stores it."""
    raw = name.encode("utf-8")
    return name if len(raw) <= MAX_BYTES else raw[:MAX_BYTES].decode("utf-8", errors="ignore")


def emitted(name: str) -> str:
    """The name SQLAlchemy writes in the DDL for an index or constraint.

    A name made by the naming convention (a `conv`, SQLAlchemy's `_truncated_label`) longer than 63
    characters is shortened by SQLAlchemy itself, before PostgreSQL sees it: its first 55 characters, `_`
    and the last 4 hex digits of the MD5 of the whole name (`_truncate_and_render_maxlen_name` in
    SQLAlchemy's compiler). So two long convention names with a common start stay distinct, and the
    name to warn about is that one, not PostgreSQL's 63-byte cut. A name written by hand is sent as is.
    """
    if len(name) <= MAX_BYTES:  # almost every name: SQLAlchemy sends it as it is
        return name
    from sqlalchemy import util  # lazy: start-up (SQLAlchemy; only with models)
    from sqlalchemy.sql.elements import _truncated_label  # lazy: start-up (SQLAlchemy; only with models)

    if isinstance(name, _truncated_label):
        name = name[: MAX_BYTES - 8] + "_" + util.md5_hex(name)[-4:]
    return name


def check(metadata: MetaData) -> tuple[str, ...]:
    """Raise ConfigError on names that collide once truncated; return warnings for names that get truncated."""
    from sqlalchemy import PrimaryKeyConstraint, UniqueConstraint  # lazy: start-up (SQLAlchemy; only with models)

    # namespace -> stored name -> the models' names that end up as it
    spaces: dict[tuple[str, ...], dict[str, dict[str, tuple[str, str]]]] = {}

    def add(space: tuple[str, ...], name: Any, what: str) -> None:
        if not isinstance(name, str) or not name:  # unnamed: SQLAlchemy makes up (and shortens) a name
            return
        sent = emitted(name)
        spaces.setdefault(space, {}).setdefault(truncated(sent), {})[str(name)] = (
            sent,
            what.format(name=repr(str(name))),
        )

    for seq in metadata._sequences.values():
        add(("relations", seq.schema or DEFAULT_SCHEMA), seq.name, "sequence {name}")
    for table in metadata.tables.values():
        schema = table.schema or DEFAULT_SCHEMA
        where = f"{schema}.{table.name}"
        add(
            ("relations", schema), table.name, f"table {{name}} in schema {schema}"
        )  # tables, indexes and sequences share a namespace
        for column in table.columns:
            add(("columns", schema, table.name), column.name, f"column {{name}} of {where}")
        for index in table.indexes:
            add(("relations", schema), index.name, f"index {{name}} on {where}")
        for constraint in table.constraints:
            add(("constraints", schema, table.name), constraint.name, f"constraint {{name}} on {where}")
            if isinstance(constraint, PrimaryKeyConstraint | UniqueConstraint):  # backed by an index of that name
                add(("relations", schema), constraint.name, f"key {{name}} on {where}")
    warnings = []
    for names in spaces.values():
        for stored, originals in names.items():
            if len(originals) > 1:
                (_, (_, first)), (_, (_, second)) = sorted(originals.items())[:2]
                raise ConfigError(
                    f"The models have the {first} and the {second}, which PostgreSQL would both store as "
                    f"{stored!r}: it keeps only the first {MAX_BYTES} bytes of a name, so they would collide.",
                    f"Shorten one of them to {MAX_BYTES} bytes or fewer (letters outside ASCII take 2 to 4 bytes each).",
                )
            for original, (sent, kind) in originals.items():
                if sent != original:
                    warnings.append(
                        f"The naming convention makes the {kind} longer than {MAX_BYTES} characters: "
                        f"SQLAlchemy shortens it to {sent!r}"
                    )
                elif original != stored:
                    warnings.append(
                        f"PostgreSQL keeps only the first {MAX_BYTES} bytes of the {kind}: it will be called {stored!r}"
                    )
    return tuple(warnings)
