"""Schema snapshots: the schema value as it was at each recorded version, and on demand.

Every `schema_versions` row gets a snapshot of the database's schema, written by `versions.record`
in the same transaction as the row (so apply, setup, sync and the production flow all get one, and
a rolled-back change leaves neither). `schemasync snapshot --label TEXT` takes one on demand: a
snapshot row with a label and no version row, because taking a picture is not a version of the
database and must not show up as one in the audit trail (nor count as "the database's version").

Storage: `public.schema_snapshots`, one row per snapshot, the value as gzip-compressed JSON
(`Schema.to_json`), a few kilobytes for an ordinary app and a few hundred for a thousand tables.
The table is created on demand like `schema_versions` (`ensure_table`): created when missing,
missing columns added to an older layout, existing rows never touched. Rows are only inserted, with one
exception: an online plan's version row is written inside its transaction, before the steps that must follow
it (a concurrent index build, a validation); once those have run, `retake` replaces that row's snapshot with
the schema they produced, so a version's snapshot is never the in-between state.

Our own bookkeeping tables (`schema_versions`, `schema_snapshots`) are left out of every snapshot:
they are not the app's schema, and the diff ignores them anyway.

Snapshot files (what `compare` reads besides the database) may be: a file `snapshot --output`
wrote, a bare `Schema.to_json` document, a backup manifest (which carries a snapshot), each
optionally gzip-compressed.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from schemasync import bookkeeping
from schemasync.errors import ConfigError
from schemasync.history.actor import actor
from schemasync.schema.inspect import inspect
from schemasync.schema.model import FormatVersion, Schema

log = logging.getLogger(__name__)

SCHEMA = bookkeeping.SCHEMA
TABLE = bookkeeping.SNAPSHOTS_TABLE
QUALIFIED = sql.Identifier(SCHEMA, TABLE)
MAX_LABEL = 200
FILE_KIND = "schemasync-snapshot"
MANIFEST_ENCODING = "gzip+base64"

COLUMNS: dict[str, str] = {
    "id": "SERIAL PRIMARY KEY",
    "version_id": "INTEGER",  # schema_versions.id; NULL for an on-demand snapshot
    "label": "TEXT",
    "schema_version": "VARCHAR(20)",  # the version the database was at
    "schema_hash": "VARCHAR(64)",
    "taken_at": "TIMESTAMP DEFAULT CURRENT_TIMESTAMP",  # UTC, like schema_versions
    "taken_by": "TEXT",
    "format": "INTEGER",
    "size_bytes": "INTEGER",  # of the uncompressed JSON
    "snapshot": "BYTEA",  # gzip-compressed Schema.to_json()
}


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    """A stored snapshot without its (possibly large) value."""

    id: int
    version_id: int | None
    label: str | None
    schema_version: str | None
    schema_hash: str | None
    taken_at: datetime | None
    taken_by: str | None
    size_bytes: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version_id": self.version_id,
            "label": self.label,
            "schema_version": self.schema_version,
            "schema_hash": self.schema_hash,
            "taken_at": self.taken_at.isoformat() if self.taken_at else None,
            "taken_by": self.taken_by,
            "size_bytes": self.size_bytes,
        }


# -- the value ------------------------------------------------------------------------------------


def without_own_tables(schema: Schema) -> Schema:
    return replace(schema, tables=tuple(t for t in schema.tables if t.key not in bookkeeping.OWN_TABLES))


def encode(schema: Schema) -> bytes:
    return gzip.compress(schema.to_json().encode(), compresslevel=6, mtime=0)


def decode(data: bytes, where: str = "the snapshot") -> Schema:
    try:
        return Schema.from_json(gzip.decompress(data))
    except (OSError, EOFError, ValueError, TypeError, KeyError) as exc:
        raise ConfigError(
            f"{where} cannot be read: {type(exc).__name__}: {exc}.",
            "It was written by an incompatible schemasync or is damaged; compare against another one.",
        ) from None


def manifest_entry(schema: Schema) -> dict[str, Any]:
    """What a backup manifest carries: small enough that listing backups stays quick."""
    return {
        "format": FormatVersion,
        "encoding": MANIFEST_ENCODING,
        "schema_hash": schema.sorted().hash(),
        "tables": len(schema.tables),
        "data": base64.b64encode(encode(schema)).decode("ascii"),
    }


# -- the table ------------------------------------------------------------------------------------


def table_columns(conn: psycopg.Connection) -> set[str] | None:
    rows = conn.execute(
        """SELECT a.attname FROM pg_attribute a
           WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped""",
        (f"{SCHEMA}.{TABLE}",),
    ).fetchall()
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{SCHEMA}.{TABLE}",)).fetchone()
    return {name for (name,) in rows} if exists and exists[0] else None


def ensure_table(conn: psycopg.Connection) -> bool:
    """Create the table, or add the columns an older layout lacks; never touches rows. True if it changed."""
    existing = table_columns(conn)
    if existing is None:
        columns = sql.SQL(",\n  ").join(
            sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in COLUMNS.items()
        )
        conn.execute(sql.SQL("CREATE TABLE {} (\n  {}\n)").format(QUALIFIED, columns))
        conn.execute(
            sql.SQL("CREATE INDEX {} ON {} (version_id)").format(sql.Identifier(f"{TABLE}_version_id_idx"), QUALIFIED)
        )
        conn.execute(
            sql.SQL("CREATE UNIQUE INDEX {} ON {} (label) WHERE label IS NOT NULL").format(
                sql.Identifier(f"{TABLE}_label_key"), QUALIFIED
            )
        )
        return True
    changed = False
    for name, ddl in COLUMNS.items():
        if name not in existing:
            type_ = "SERIAL" if name == "id" else ddl.partition(" DEFAULT ")[0]
            conn.execute(
                sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(QUALIFIED, sql.Identifier(name), sql.SQL(type_))
            )
            changed = True
    return changed


def check_label(label: str) -> str:
    text = label.strip()
    if not text or len(text) > MAX_LABEL or text.lower() in RESERVED or ":" in text:
        raise ConfigError(
            f"The snapshot label {label!r} cannot be used.",
            f"Use 1 to {MAX_LABEL} characters without ':' that are not one of {', '.join(sorted(RESERVED))} "
            "(those name other things in compare), for example before-billing-rework.",
        )
    return text


RESERVED = frozenset({"live", "models", "latest", "previous"})


def take(
    conn: psycopg.Connection,
    *,
    version_id: int | None = None,
    label: str | None = None,
    schema_version: str | None = None,
    schema: Schema | None = None,
    taken_by: str | None = None,
) -> int:
    """Store a snapshot of `schema` (else of the database as it is now) in the caller's transaction."""
    value = without_own_tables(schema if schema is not None else inspect(conn)).sorted()
    ensure_table(conn)
    if label is not None:
        label = check_label(label)
        taken = conn.execute(sql.SQL("SELECT id FROM {} WHERE label = %s").format(QUALIFIED), (label,)).fetchone()
        if taken:
            raise ConfigError(
                f"There is already a snapshot labelled {label!r} (snapshot {taken[0]}).",
                "Pick another label; labels name one snapshot each so compare can find it.",
            )
    schema_hash, format_version, size, blob = _row_values(value)
    row = conn.execute(
        sql.SQL(
            "INSERT INTO {} (version_id, label, schema_version, schema_hash, taken_at, taken_by, format, size_bytes, snapshot) "
            "VALUES (%s, %s, %s, %s, clock_timestamp(), %s, %s, %s, %s) RETURNING id"
        ).format(QUALIFIED),
        (version_id, label, schema_version, schema_hash, taken_by or actor(), format_version, size, blob),
    ).fetchone()
    assert row is not None
    return int(row[0])


def retake(conn: psycopg.Connection, version_id: int) -> None:
    """Replace the snapshot stored with version row `version_id` by the database as it is now (see the module
    docstring: an online plan's steps after its transaction)."""
    conn.execute(
        sql.SQL(
            "UPDATE {} SET schema_hash = %s, format = %s, size_bytes = %s, snapshot = %s WHERE version_id = %s"
        ).format(QUALIFIED),
        (*_row_values(without_own_tables(inspect(conn)).sorted()), version_id),
    )


def _row_values(value: Schema) -> tuple[str, int, int, bytes]:
    """What a snapshot row stores of a schema: its hash, the format, the JSON's size, the compressed JSON."""
    text = value.to_json().encode()
    return value.hash(), FormatVersion, len(text), gzip.compress(text, compresslevel=6, mtime=0)


_INFO = sql.SQL(
    "SELECT id, version_id, label, schema_version, schema_hash, taken_at, taken_by, size_bytes FROM {} "
).format(QUALIFIED)


def listing(conn: psycopg.Connection, limit: int | None = None) -> list[SnapshotInfo]:
    """Every snapshot, newest first."""
    if table_columns(conn) is None:
        return []
    query = _INFO + sql.SQL("ORDER BY taken_at DESC NULLS LAST, id DESC")
    if limit:
        query += sql.SQL(" LIMIT {}").format(sql.Literal(limit))
    with conn.cursor(row_factory=dict_row) as cur:
        return [SnapshotInfo(**row) for row in cur.execute(query).fetchall()]


def find(conn: psycopg.Connection, where: sql.Composable, params: tuple[Any, ...]) -> list[SnapshotInfo]:
    if table_columns(conn) is None:
        return []
    with conn.cursor(row_factory=dict_row) as cur:
        query = _INFO + sql.SQL("WHERE ") + where + sql.SQL(" ORDER BY taken_at DESC NULLS LAST, id DESC")
        return [SnapshotInfo(**row) for row in cur.execute(query, params).fetchall()]


def load(conn: psycopg.Connection, snapshot_id: int) -> Schema:
    row = conn.execute(sql.SQL("SELECT snapshot FROM {} WHERE id = %s").format(QUALIFIED), (snapshot_id,)).fetchone()
    if row is None or row[0] is None:
        raise ConfigError(f"There is no snapshot {snapshot_id}.", "List them with schemasync snapshots.")
    return decode(bytes(row[0]), f"Snapshot {snapshot_id}")


def for_versions(conn: psycopg.Connection, version_ids: list[int]) -> dict[int, Schema]:
    """The snapshot of each of these schema_versions rows that has one (one query for all of them)."""
    if not version_ids or table_columns(conn) is None:
        return {}
    rows = conn.execute(
        sql.SQL(
            "SELECT DISTINCT ON (version_id) version_id, snapshot FROM {} "
            "WHERE version_id = ANY(%s) AND snapshot IS NOT NULL ORDER BY version_id, id DESC"
        ).format(QUALIFIED),
        (version_ids,),
    ).fetchall()
    out: dict[int, Schema] = {}
    for version_id, data in rows:
        try:
            out[int(version_id)] = decode(bytes(data), f"The snapshot of version row {version_id}")
        except ConfigError as exc:
            log.warning("%s", exc.message)
    return out


def lookup(conn: psycopg.Connection, rows: Sequence[Any]) -> Callable[[Any], Schema | None]:
    """`row -> its snapshot` for these `schema_versions` rows (one query), as `studio.history.entries` takes it."""
    found = for_versions(conn, [r.id for r in rows])
    return lambda row: found.get(row.id)


# -- files ----------------------------------------------------------------------------------------


def file_document(schema: Schema, **meta: Any) -> dict[str, Any]:
    return {"kind": FILE_KIND, **{k: v for k, v in meta.items() if v is not None}, "schema": schema.to_dict()}


def write_file(path: Path, schema: Schema, **meta: Any) -> None:
    text = json.dumps(file_document(schema, **meta), indent=1, sort_keys=True, default=str) + "\n"
    data = gzip.compress(text.encode(), mtime=0) if path.suffix == ".gz" else text.encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as exc:
        raise ConfigError(
            f"The snapshot file {path} cannot be written: {exc.strerror or exc}.",
            "Pick a writable path for --output.",
        ) from None


def read_file(path: Path) -> Schema:
    """A schema from a snapshot file, a `Schema.to_json` document or a backup manifest (gzip or not)."""
    hint = (
        "Give a file written by schemasync snapshot --output, a backup's .manifest.json, or the JSON of a "
        "schema (gzip-compressed or not)."
    )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"The snapshot file {path} cannot be read: {exc.strerror or exc}.", hint) from None
    try:
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        data = json.loads(raw)
    except (OSError, EOFError, ValueError) as exc:
        raise ConfigError(f"The snapshot file {path} is not JSON: {exc}.", hint) from None
    if not isinstance(data, dict):
        raise ConfigError(f"The snapshot file {path} holds no schema (a JSON {type(data).__name__}).", hint)
    try:
        if data.get("kind") == FILE_KIND and isinstance(data.get("schema"), dict):
            return Schema.from_dict(data["schema"])
        entry = data.get("snapshot")
        if "manifest_version" in data:
            if not isinstance(entry, dict) or entry.get("encoding") != MANIFEST_ENCODING:
                raise ConfigError(
                    f"The backup manifest {path} carries no schema snapshot (it was taken by an older schemasync).",
                    "Compare against another backup, a recorded version or a snapshot file.",
                )
            return decode(base64.b64decode(entry["data"]), f"The snapshot in {path}")
        if "tables" in data and isinstance(data.get("tables"), list):
            return Schema.from_dict(data)
    except ConfigError:
        raise
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise ConfigError(f"The snapshot file {path} is not a schema: {type(exc).__name__}: {exc}.", hint) from None
    raise ConfigError(f"The snapshot file {path} holds no schema.", hint)
