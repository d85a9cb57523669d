"""schema_versions: creation, adapting older layouts without losing rows, version ordering, downgrades."""

from __future__ import annotations

import psycopg
import pytest

from schemasync.errors import ConfigError, Refused
from schemasync.history import versions
from schemasync.plan import policy
from tests.conftest import TestDB

LEGACY_LAYOUTS = {
    "id-version-created": (
        "CREATE TABLE schema_versions (id SERIAL PRIMARY KEY, version VARCHAR(20), created_at TIMESTAMP DEFAULT now())",
        "INSERT INTO schema_versions (version, created_at) VALUES ('1.0.0', '2024-01-01'), ('1.1.0', '2024-02-01'), ('1.2.0', '2024-03-01')",
    ),
    "schema-version-without-applied-at": (
        "CREATE TABLE schema_versions (id SERIAL PRIMARY KEY, schema_version VARCHAR(20) NOT NULL, app_version VARCHAR(20), created_at TIMESTAMP)",
        "INSERT INTO schema_versions (schema_version, app_version, created_at) VALUES ('0.9', '0.9', '2023-05-01'), ('1.0', '1.0', '2023-06-01')",
    ),
    "version-with-applied-at-no-id": (
        "CREATE TABLE schema_versions (version INTEGER NOT NULL, applied_at TIMESTAMPTZ DEFAULT now(), notes TEXT)",
        "INSERT INTO schema_versions (version, applied_at, notes) VALUES (3, '2022-01-01', 'third'), (4, '2022-02-01', 'fourth'), (5, '2022-03-01', NULL)",
    ),
}


def snapshot_rows(conn: psycopg.Connection) -> list[tuple[object, ...]]:
    return conn.execute("SELECT * FROM schema_versions ORDER BY 1, 2").fetchall()


@pytest.mark.parametrize("layout", sorted(LEGACY_LAYOUTS))
def test_adapting_legacy_layouts_keeps_rows_and_backfills(pg: TestDB, layout: str) -> None:
    create, insert = LEGACY_LAYOUTS[layout]
    pg.execute(create)
    pg.execute(insert)
    with pg.connect() as conn:
        before = conn.execute("SELECT count(*) FROM schema_versions").fetchone()
        old_columns = list(versions.table_columns(conn) or {})
        old_values = conn.execute(f"SELECT {', '.join(old_columns)} FROM schema_versions ORDER BY 1").fetchall()
        with conn.transaction():
            first = versions.ensure_table(conn)
        assert first.changed
        columns = versions.table_columns(conn) or {}
        assert set(versions.ALL_COLUMNS) <= set(columns)
        assert conn.execute("SELECT count(*) FROM schema_versions").fetchone() == before
        # the values that were there are untouched
        assert conn.execute(f"SELECT {', '.join(old_columns)} FROM schema_versions ORDER BY 1").fetchall() == old_values
        assert conn.execute("SELECT count(*) FROM schema_versions WHERE schema_version IS NULL").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM schema_versions WHERE applied_at IS NULL").fetchone() == (0,)
        notnull = conn.execute(
            "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'schema_versions'::regclass AND attname = 'schema_version'"
        ).fetchone()
        assert notnull == (True,)
        rows = snapshot_rows(conn)
        with conn.transaction():
            second = versions.ensure_table(conn)
        assert not second.changed
        assert snapshot_rows(conn) == rows
        assert versions.table_columns(conn) == columns


def test_latest_version_is_newest_by_applied_at_then_id(pg: TestDB) -> None:
    with pg.connect() as conn:
        versions.ensure_table(conn)
        conn.execute(
            "INSERT INTO schema_versions (schema_version, applied_at, status) VALUES "
            "('1.0', '2024-01-01', 'applied'), ('1.2', '2024-03-01', 'applied'), ('1.1', '2024-03-01', 'applied'), "
            "('9.9', '2025-01-01', 'rejected')"
        )
        latest = versions.latest(conn)
        assert (
            latest is not None and latest.schema_version == "1.1"
        )  # same applied_at: higher id wins; rejected rows never count
        assert [r.schema_version for r in versions.history(conn, 2)] == ["9.9", "1.1"]


@pytest.mark.parametrize(
    ("app", "db", "relation"),
    [
        ("1.6.0", "1.6.0", "in step"),
        ("1.10.0", "1.9.0", "app ahead"),
        ("1.0.0-beta.2", "1.0.0", "database ahead"),
        ("v2", "1.9", "app ahead"),
    ],
)
def test_version_ordering_is_pep440(app: str, db: str, relation: str) -> None:
    assert str(versions.relation(versions.parse_version(app, "a"), versions.parse_version(db, "b"))) == relation


@pytest.mark.parametrize("bad", ["", "   ", "latest", "1.2.3.4.5.6.7.8.9.10.11", None])
def test_malformed_versions_name_value_and_origin(bad: str | None) -> None:
    with pytest.raises(ConfigError) as info:
        versions.parse_version(bad, "pyproject.toml [project].version")
    assert "pyproject.toml [project].version" in str(info.value)


def test_downgrade_refused_unless_allowed() -> None:
    with pytest.raises(Refused, match="ahead of the app") as refused:
        policy.refuse_downgrade("1.0.0", "1.1.0", allow=False, action="sync")
    assert refused.value.code == "SS101" and refused.value.message.startswith("[SS101] ")
    policy.refuse_downgrade("1.0.0", "1.1.0", allow=True, action="sync")
    policy.refuse_downgrade("1.2.0", "1.1.0", allow=False, action="sync")
