"""Helpers for the backup tests: settings, sample data, and a fingerprint of a database's schema and rows."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schemasync.backups.format import Manifest, dump_name, manifest_path, stamp
from schemasync.config import Settings, load_settings
from tests.conftest import TestDB

SECRET = "Pa55-Tr1cky@Secret"


def make_settings(project: Path, *, url: str | None = None, **values: object) -> Settings:
    """Settings as a user's environment would give them (SCHEMASYNC_* variables), for a project directory."""
    environ = {f"SCHEMASYNC_{k.upper()}": str(v) for k, v in values.items()}
    if url is not None:
        environ["DATABASE_URL"] = url
    return load_settings({"project_dir": str(project), "app_version": "1.2.0"}, environ).settings


def fill(pg: TestDB, rows: int = 300) -> None:
    """A small shop: enum, foreign keys, indexes, a view, defaults, NULLs and awkward text."""
    pg.execute("CREATE TYPE status AS ENUM ('new', 'paid', 'shipped')")
    pg.execute("CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL UNIQUE, note text)")
    pg.execute(
        "CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers(id), "
        "status status NOT NULL DEFAULT 'new', total numeric(10,2) CHECK (total >= 0), placed timestamptz DEFAULT now())"
    )
    pg.execute("CREATE INDEX orders_customer ON orders (customer_id, placed)")
    pg.execute("CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100")
    pg.execute(
        "INSERT INTO customers (email, note) SELECT 'c' || g || '@example.com', "
        "CASE WHEN g %% 7 = 0 THEN NULL ELSE E'line\\nwith ''quotes'' and ü ' || g END FROM generate_series(1, %s) g",
        (rows,),
    )
    pg.execute(
        "INSERT INTO orders (customer_id, status, total, placed) SELECT 1 + g %% %s, "
        "(ARRAY['new','paid','shipped'])[1 + g %% 3]::status, (g * 3.17)::numeric(10,2), "
        "timestamptz '2026-01-01' + g * interval '1 hour' FROM generate_series(1, %s) g",
        (rows, rows * 3),
    )


def fingerprint(pg: TestDB, *, skip: tuple[str, ...] = ("schema_versions",)) -> dict[str, Any]:
    """Schema (columns, constraints, indexes, views, types) and, per table, the row count and a hash of all rows.

    `schema_snapshots` is bookkeeping like `schema_versions` (a restore records a row, with its snapshot)."""
    skip = (*skip, "schema_snapshots")
    with pg.connect() as conn:
        columns = conn.execute(
            """SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default
               FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> ALL(%s)
               ORDER BY 1, 2""",
            (list(skip),),
        ).fetchall()
        constraints = conn.execute(
            """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
               WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> ALL(%s) ORDER BY 1, 2""",
            (list(skip),),
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> ALL(%s) ORDER BY 1",
            (list(skip),),
        ).fetchall()
        views = conn.execute(
            "SELECT viewname, definition FROM pg_views WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall()
        types = conn.execute(
            """SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_type t
               JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY 1 ORDER BY 1"""
        ).fetchall()
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> ALL(%s) ORDER BY 1",
                (list(skip),),
            ).fetchall()
        ]
        data = {}
        for table in tables:
            count, digest = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM \"{table}\" t"
            ).fetchone()  # type: ignore[misc]
            data[table] = (count, digest)
    return {
        "columns": columns,
        "constraints": constraints,
        "indexes": indexes,
        "views": views,
        "types": types,
        "data": data,
    }


def synthetic_backup(
    root: Path,
    size: int,
    *,
    database: str = "shop",
    env: str = "development",
    taken: datetime | None = None,
    version: str = "1.2.0",
) -> tuple[Path, Manifest]:
    """A dump-shaped file of random bytes with a true manifest: enough for the stores, which never parse dumps."""
    taken = taken or datetime.now(UTC).replace(microsecond=0)
    backup_id = stamp(taken)
    root.mkdir(parents=True, exist_ok=True)
    path = root / dump_name(database, env, backup_id, version)
    sha = hashlib.sha256()
    with path.open("wb") as fh:
        left = size
        while left:
            chunk = os.urandom(min(left, 1 << 20))
            fh.write(chunk)
            sha.update(chunk)
            left -= len(chunk)
    manifest = Manifest(
        id=backup_id,
        database=database,
        database_display=f"postgres@127.0.0.1:5432/{database}",
        environment=env,
        app_version=version,
        schema_version=version,
        schema_hash=None,
        server_version="15.0",
        pg_dump_version="15.0",
        tool_version="schemasync test",
        file=path.name,
        size=size,
        sha256=sha.hexdigest(),
        started_at=taken,
        finished_at=taken,
    )
    manifest_path(path).write_text(manifest.dumps())
    return path, manifest
