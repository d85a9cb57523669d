"""Small formatting helpers for the templates (registered as Jinja filters), and the restore command."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from schemasync.studio.erd import short_type, table_href, view_href
from schemasync.units import human_size

if TYPE_CHECKING:
    from schemasync.backups.store import StoredBackup


def size(n: int | None) -> str:
    return "" if n is None else human_size(int(n))


def count(n: int | None) -> str:
    return "" if n is None else f"{int(n):,}"


def when(moment: datetime | None) -> str:
    """UTC, to the second: what `history` and `backups list` print."""
    if moment is None:
        return ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def rows_estimate(n: int) -> str:
    return "never analysed" if n < 0 else f"≈ {n:,}"


def query(**params: Any) -> str:
    """`?a=1&b=2` without the empty parameters."""
    kept = {k: v for k, v in params.items() if v not in (None, "", False)}
    return "?" + urlencode(kept) if kept else ""


def combine_query(base: dict[str, Any], **params: Any) -> str:
    """`base` and `params` as a query string (no leading `?`), leaving out empty values."""
    return query(**{**base, **params}).removeprefix("?")


def restore_command(item: StoredBackup, series: tuple[str, str] | None) -> str:
    """The command that restores this copy, as `schemasync backup` prints it for a fresh backup.

    An S3 copy is named by its URI; a local copy of the configured database by its id (unique per
    database and environment), any other local copy by its path so it cannot be mistaken.
    """
    if item.store == "s3":
        ref = item.location
    elif series is not None and item.belongs_to(*series):
        ref = item.id
    else:
        ref = item.location
    words = ["schemasync", "restore", ref]
    if item.environment and item.environment != "development":
        words += ["--env", item.environment]
    return shlex.join(words)


FILTERS = {
    "size": size,
    "count": count,
    "when": when,
    "rows_estimate": rows_estimate,
    "short_type": short_type,
    "table_href": lambda t: table_href(t[0], t[1]),
    "view_href": lambda v: view_href(v[0], v[1]),
    "combine_query": combine_query,
}
