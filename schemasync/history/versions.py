"""The `schema_versions` audit trail, and comparing the app's version with the database's.

The table keeps the documented layout that older scripts wrote (so rows they left stay readable) plus
nullable audit columns. `ensure_table` creates it or adapts an older layout by adding what is missing
and back-filling from what is there; it never drops, truncates or rewrites existing values, and a
second run is a no-op. Rows are only ever inserted.

Versions compare with PEP 440 ordering (`packaging`), which also reads semver strings such as
`1.0.0-beta.2` and tags such as `v1.2`; the text is stored as given.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import psycopg
from packaging.version import Version
from psycopg import sql
from psycopg.rows import dict_row

from schemasync import __version__, bookkeeping, safetext
from schemasync.appversion import parse_version
from schemasync.history import snapshots
from schemasync.history.actor import actor

log = logging.getLogger(__name__)

SCHEMA = bookkeeping.SCHEMA
TABLE = bookkeeping.VERSIONS_TABLE
QUALIFIED = sql.Identifier(SCHEMA, TABLE)

# The documented layout, in order, then our audit columns. Types are what `ensure_table` adds.
DOCUMENTED_COLUMNS: dict[str, str] = {
    "id": "SERIAL PRIMARY KEY",
    "script_version": "VARCHAR(20)",
    "app_version": "VARCHAR(20)",
    "schema_version": "VARCHAR(20)",
    "version": "VARCHAR(20)",
    "applied_at": "TIMESTAMP DEFAULT CURRENT_TIMESTAMP",
    "created_at": "TIMESTAMP DEFAULT CURRENT_TIMESTAMP",
    "environment": "VARCHAR(20) DEFAULT 'production'",
    "notes": "TEXT",
    "migration_file": "VARCHAR(255)",
    "description": "TEXT",
}
AUDIT_COLUMNS: dict[str, str] = {
    "status": "VARCHAR(20)",
    "schema_hash": "VARCHAR(64)",
    "applied_by": "TEXT",
    "approved_by": "TEXT",
    "backup_uri": "TEXT",
    "run_id": "TEXT",
    "duration_ms": "INTEGER",
    "changes": "INTEGER",
}
ALL_COLUMNS = {**DOCUMENTED_COLUMNS, **AUDIT_COLUMNS}


class Status(StrEnum):
    """What a row records. Only rows with a status in CURRENT count as "the database's version"."""

    INITIAL = "initial"  # setup: the version the database was found at
    APPLIED = "applied"  # a plan was applied
    RECORDED = "recorded"  # no schema change was needed; the version was recorded
    RESTORED = "restore"  # a backup was restored
    REJECTED = "rejected"  # an approver said no: nothing changed
    FAILED = "failed"  # a run failed after the point of no return (build/verify): schema applied
    REFUSED = "refused"  # put up for approval, then stopped (no answer in time, stale plan): nothing changed


CURRENT = (Status.INITIAL, Status.APPLIED, Status.RECORDED, Status.RESTORED, Status.FAILED)


class Relation(StrEnum):
    IN_STEP = "in step"
    APP_AHEAD = "app ahead"
    DB_AHEAD = "database ahead"
    UNRECORDED = "no version recorded"


def relation(app: Version, db: Version | None) -> Relation:
    if db is None:
        return Relation.UNRECORDED
    if app == db:
        return Relation.IN_STEP
    return Relation.APP_AHEAD if app > db else Relation.DB_AHEAD


@dataclass(frozen=True, slots=True)
class VersionRow:
    id: int
    schema_version: str | None
    app_version: str | None
    applied_at: datetime | None
    environment: str | None
    status: str | None
    description: str | None
    notes: str | None
    applied_by: str | None
    approved_by: str | None
    backup_uri: str | None
    run_id: str | None
    duration_ms: int | None
    schema_hash: str | None
    migration_file: str | None
    script_version: str | None
    changes: int | None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["applied_at"] = self.applied_at.isoformat() if self.applied_at else None
        return data


def _is_text(type_name: str) -> bool:
    return type_name.startswith(("character", "text", "varchar"))


def table_columns(conn: psycopg.Connection) -> dict[str, str] | None:
    """The existing table's columns (name -> type), or None when the table does not exist."""
    rows = conn.execute(
        """SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
           WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum""",
        (f"{SCHEMA}.{TABLE}",),
    ).fetchall()
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{SCHEMA}.{TABLE}",)).fetchone()
    if not exists or not exists[0]:
        return None
    return {name: typ for name, typ in rows}


@dataclass(frozen=True, slots=True)
class Adaptation:
    created: bool
    added: tuple[str, ...]
    backfilled: dict[str, int]

    @property
    def changed(self) -> bool:
        return self.created or bool(self.added) or any(self.backfilled.values())


def ensure_table(conn: psycopg.Connection, *, announce: bool = True) -> Adaptation:
    """Create `schema_versions`, or bring an older layout up to date; idempotent; caller commits."""
    existing = table_columns(conn)
    if existing is None:
        definitions = sql.SQL(",\n  ").join(
            sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in ALL_COLUMNS.items()
        )
        conn.execute(sql.SQL("CREATE TABLE {} (\n  {}\n)").format(QUALIFIED, definitions))
        conn.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN schema_version SET NOT NULL").format(QUALIFIED))
        if announce:
            log.info("Created the %s table (it was missing).", TABLE)
        return Adaptation(True, (), {})

    added = []
    has_pk = conn.execute(
        "SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass(%s) AND contype = 'p'", (f"{SCHEMA}.{TABLE}",)
    ).fetchone()
    for name, ddl in ALL_COLUMNS.items():
        if name in existing:
            continue
        column = sql.Identifier(name)
        if name == "id":  # SERIAL numbers the existing rows; a second primary key is impossible
            ddl_sql = sql.SQL("SERIAL" if has_pk else ddl)
            conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(QUALIFIED, column, ddl_sql))
        else:  # added without the default, so old rows stay NULL (unknown) rather than "now" or 'production'
            type_, _, default = ddl.partition(" DEFAULT ")
            conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(QUALIFIED, column, sql.SQL(type_)))
            if default:
                conn.execute(
                    sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {}").format(QUALIFIED, column, sql.SQL(default))
                )
        added.append(name)

    # Back-fill each column from its twin, converting through text to whatever type the old layout used;
    # a twin whose type cannot hold the value (an INTEGER `version` for '1.6.0') is left alone.
    columns = table_columns(conn) or {}
    backfilled: dict[str, int] = {}
    for target, source in (
        ("schema_version", "version"),
        ("version", "schema_version"),
        ("applied_at", "created_at"),
        ("created_at", "applied_at"),
    ):
        if target in ("version", "schema_version") and not _is_text(columns[target]):
            continue
        cur = conn.execute(
            sql.SQL("UPDATE {} SET {} = {}::text::{} WHERE {} IS NULL AND {} IS NOT NULL").format(
                QUALIFIED,
                sql.Identifier(target),
                sql.Identifier(source),
                sql.SQL(columns[target]),
                sql.Identifier(target),
                sql.Identifier(source),
            )
        )
        if cur.rowcount:
            backfilled[target] = cur.rowcount
    nullable = conn.execute(
        "SELECT NOT attnotnull FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attname = 'schema_version'",
        (f"{SCHEMA}.{TABLE}",),
    ).fetchone()
    if nullable and nullable[0]:
        nulls = conn.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE schema_version IS NULL").format(QUALIFIED)
        ).fetchone()
        if nulls and nulls[0] == 0:
            conn.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN schema_version SET NOT NULL").format(QUALIFIED))
            added.append("schema_version NOT NULL")
        else:
            log.warning(
                "%s has %s row(s) with no version at all; schema_version stays nullable until they are fixed.",
                TABLE,
                nulls[0] if nulls else "?",
            )
    result = Adaptation(False, tuple(added), backfilled)
    if result.changed and announce:
        parts = []
        if added:
            parts.append("added " + ", ".join(added))
        if backfilled:
            parts.append("back-filled " + ", ".join(f"{c} ({n} rows)" for c, n in backfilled.items()))
        log.info("Adapted an older %s layout: %s.", TABLE, "; ".join(parts))
    return result


_SELECT = sql.SQL(
    """SELECT id, schema_version, app_version, applied_at, environment, status, description, notes, applied_by,
              approved_by, backup_uri, run_id, duration_ms, schema_hash, migration_file, script_version, changes
       FROM {} """
).format(QUALIFIED)


def latest(conn: psycopg.Connection) -> VersionRow | None:
    """The database's current version: the newest row by applied_at, then id, that recorded a state."""
    if table_columns(conn) is None:
        return None
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            _SELECT
            + sql.SQL("WHERE status IS NULL OR status = ANY(%s) ORDER BY applied_at DESC NULLS LAST, id DESC LIMIT 1"),
            ([str(s) for s in CURRENT],),
        ).fetchone()
    return VersionRow(**row) if row else None


def history(conn: psycopg.Connection, limit: int | None = None) -> list[VersionRow]:
    """All rows, newest first (rejections and failures included: it is an audit trail)."""
    if table_columns(conn) is None:
        return []
    query = _SELECT + sql.SQL("ORDER BY applied_at DESC NULLS LAST, id DESC")
    if limit:
        query += sql.SQL(" LIMIT {}").format(sql.Literal(limit))
    with conn.cursor(row_factory=dict_row) as cur:
        return [VersionRow(**row) for row in cur.execute(query).fetchall()]


@dataclass(frozen=True, slots=True)
class Record:
    """A row to insert; everything but the version and status is optional context."""

    schema_version: str
    status: Status
    environment: str
    app_version: str | None = None
    description: str | None = None
    notes: str | None = None
    schema_hash: str | None = None
    approved_by: str | None = None
    backup_uri: str | None = None
    run_id: str | None = None
    duration_ms: int | None = None
    migration_file: str | None = None
    changes: int | None = None
    applied_by: str | None = None


def record(conn: psycopg.Connection, entry: Record, *, snapshot: bool = True) -> int:
    """Insert one row, and a snapshot of the schema as it is now, inside the caller's transaction.

    The row, its snapshot (`schemasync.history.snapshots`) and the caller's DDL commit together; called
    outside a transaction, the two inserts still commit together (in their own transaction).
    """
    parse_version(entry.schema_version, "the version to record")
    with conn.transaction():
        version_id = _insert(conn, entry)
        if snapshot:
            snapshots.take(conn, version_id=version_id, schema_version=entry.schema_version, taken_by=entry.applied_by)
    return version_id


def settle(conn: psycopg.Connection, version_id: int, schema_hash: str) -> None:
    """Bring row `version_id` and its snapshot up to the database as it is now, after an online plan's steps.

    Those steps (a concurrent index build, a validation) run after the transaction that wrote the row, so
    the row would otherwise record the in-between schema: a hash no later look matches and a snapshot that
    `compare` would show as a difference that never existed.
    """
    with conn.transaction():
        conn.execute(
            sql.SQL("UPDATE {} SET schema_hash = %s WHERE id = %s").format(QUALIFIED), (schema_hash, version_id)
        )
        snapshots.retake(conn, version_id)


def _stored(text: str | None) -> str | None:
    """Free text as stored in a row: secrets masked, control characters visible (`safetext.stored_note`).

    Notes carry what approvers typed, descriptions carry model and database names; every channel that
    fills them (the CLI, the Prefect UI's resume form, a flow parameter) ends here.
    """
    return None if text is None else safetext.stored_note(text)


def _insert(conn: psycopg.Connection, entry: Record) -> int:
    values = {
        "script_version": __version__[:20],
        "app_version": entry.app_version or entry.schema_version,
        "schema_version": entry.schema_version,
        "version": entry.schema_version,
        "environment": entry.environment,
        "status": str(entry.status),
        "description": _stored(entry.description),
        "notes": _stored(entry.notes),
        "schema_hash": entry.schema_hash,
        "applied_by": _stored(entry.applied_by or actor()),
        "approved_by": _stored(entry.approved_by),
        "backup_uri": _stored(entry.backup_uri),
        "run_id": entry.run_id,
        "duration_ms": entry.duration_ms,
        "migration_file": entry.migration_file,
        "changes": entry.changes,
    }
    query = sql.SQL(
        "INSERT INTO {} ({}, applied_at, created_at) VALUES ({}, clock_timestamp(), clock_timestamp()) RETURNING id"
    ).format(
        QUALIFIED,
        sql.SQL(", ").join(map(sql.Identifier, values)),
        sql.SQL(", ").join(sql.Placeholder() * len(values)),
    )
    row = conn.execute(query, list(values.values())).fetchone()
    assert row is not None
    return int(row[0])
