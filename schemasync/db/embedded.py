"""The embedded default: a PostgreSQL server of our own when no database is configured.

It lets the README's first command work on a machine with nothing installed but Python. The server
(from the `pgserver` package, PostgreSQL 16 binaries in a wheel) lives in `.schemasync/pgdata` under
the project directory, keeps running between commands so the next one reuses it, and is never
started when a database is configured. The application database inside it is called `app`.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import time
import warnings
from pathlib import Path
from typing import Any

import psycopg

from schemasync.config import Settings
from schemasync.db.connection import Database
from schemasync.errors import ConfigError

log = logging.getLogger(__name__)
DBNAME = "app"


def ensure(settings: Settings) -> Database:
    """Start (or reuse) the embedded server and return its `app` database."""
    pgdata = (settings.project_dir / settings.embedded_dir).resolve()
    fresh = not (pgdata / "PG_VERSION").exists()
    admin = server(settings)
    with psycopg.connect(admin.conninfo, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DBNAME,)).fetchone() is None:
            conn.execute(f"CREATE DATABASE {DBNAME}")
    log.info(
        "%s the embedded PostgreSQL in %s (no DATABASE_URL configured).",
        "Started" if fresh else "Using",
        pgdata.relative_to(settings.project_dir.resolve())
        if pgdata.is_relative_to(settings.project_dir.resolve())
        else pgdata,
    )
    return admin.with_dbname(DBNAME)


def server(settings: Settings) -> Database:
    """Start (or reuse) the embedded server; its `postgres` database (for creating others in it)."""
    try:
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR in containers: not ours to fix
            warnings.simplefilter("ignore")
            import pgserver  # type: ignore[import-untyped]  # lazy: optional dependency (pgserver, the 'embedded' extra)
    except ImportError:
        raise ConfigError(
            "No database is configured and the embedded PostgreSQL is not installed.",
            "Set DATABASE_URL (or pass --database-url), or install the extra: pip install 'schemasync[embedded]'.",
        ) from None
    pgdata = (settings.project_dir / settings.embedded_dir).resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    return Database(_start(pgserver, pgdata), "embedded", embedded=True)


def major_version() -> int | None:
    """The embedded server's PostgreSQL major version, read from its headers without importing or starting it.

    None when the extra is not installed. Choosing a dev database (`schema/devdb.py`) asks on every
    look, so this must cost nothing: locating the package does not execute it.
    """
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        return None
    header = Path(spec.submodule_search_locations[0]) / "pginstall" / "include" / "pg_config.h"
    try:
        match = re.search(r'#define PG_MAJORVERSION "(\d+)"', header.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None
    return int(match.group(1)) if match else None


def _start(pgserver: Any, pgdata: Path) -> str:
    """Start or reuse the server; its URI.

    pgserver gives `pg_ctl start` a fixed 10 s, which a first start (initdb, then start) can exceed on a
    busy machine although the server comes up moments later; so a failed attempt is retried a few times
    (pgserver reuses a server that did come up) before the failure is reported.
    """
    attempts = 4
    for attempt in range(1, attempts + 1):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return str(pgserver.get_server(pgdata, cleanup_mode=None).get_uri())
        except Exception as exc:  # pgserver raises plain exceptions with the server log in the message
            if attempt < attempts:
                log.debug("embedded PostgreSQL start attempt %d failed (%s); retrying", attempt, exc)
                time.sleep(2 * attempt)
                continue
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ConfigError(
                f"The embedded PostgreSQL in {pgdata} could not be started: {reason}.",
                f"Look at {pgdata / 'log'}; delete {pgdata} to start afresh (its data is lost), or set DATABASE_URL.",
            ) from None
    raise AssertionError("unreachable")  # pragma: no cover


def bin_dir() -> str | None:
    """Directory of the embedded server's client programs (pg_dump, pg_restore), if installed."""
    try:
        from pgserver._commands import POSTGRES_BIN_PATH  # type: ignore[import-untyped]  # lazy: optional dependency (pgserver, the 'embedded' extra)
    except ImportError:
        return None
    return str(POSTGRES_BIN_PATH)
