"""The app's Alembic project: its config, its revision scripts, and which revision the database is at.

Found through the `alembic_ini` setting (relative to the project directory). A relative
`script_location` is taken relative to the ini file's directory (where people run `alembic` from),
so the commands work from any directory. The database's revision is read straight from the
version table with psycopg (`alembic_version` unless the ini sets `version_table`), which needs no
SQLAlchemy engine and no env.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from schemasync.errors import ConfigError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from schemasync.config import Settings

DEFAULT_VERSION_TABLE = "alembic_version"


@dataclass(frozen=True, slots=True)
class Revision:
    id: str
    message: str
    path: str

    def describe(self) -> str:
        return f"{self.id} ({self.message})" if self.message else self.id


@dataclass(frozen=True, slots=True)
class State:
    """Where the database stands against the project's revisions."""

    current: tuple[str, ...]  # revisions in the database's version table (empty: none applied)
    heads: tuple[str, ...]
    pending: tuple[Revision, ...]  # to apply, oldest first
    version_table: str = DEFAULT_VERSION_TABLE

    @property
    def up_to_date(self) -> bool:
        return not self.pending

    @property
    def head(self) -> str | None:
        return self.heads[0] if len(self.heads) == 1 else None

    def to_json(self) -> dict[str, object]:
        return {
            "current": list(self.current),
            "heads": list(self.heads),
            "pending": [{"id": r.id, "message": r.message, "path": r.path} for r in self.pending],
        }


def ini_path(settings: Settings) -> Path:
    if settings.alembic_ini is None:
        raise ConfigError(
            "No Alembic configuration is set, so there is no migrations directory to work with.",
            "Set alembic-ini = 'alembic.ini' under [tool.schemasync] in pyproject.toml (or SCHEMASYNC_ALEMBIC_INI) "
            "to the app's alembic.ini; create one with `alembic init migrations` if the app has none.",
        )
    path = settings.alembic_ini
    path = path if path.is_absolute() else settings.project_dir / path
    if not path.is_file():
        raise ConfigError(
            f"The Alembic configuration {path} (alembic_ini) does not exist or is not a file.",
            "Fix the alembic-ini setting, or create the project with `alembic init migrations`.",
        )
    return path


def load_config(settings: Settings) -> Config:
    """The app's Alembic Config, with `script_location` made absolute."""
    from alembic.config import Config  # lazy: start-up (Alembic; only apps that keep migrations)

    path = ini_path(settings)
    try:
        cfg = Config(str(path))
        location = cfg.get_alembic_option("script_location")
    except Exception as exc:  # configparser errors: a broken ini is input, not a bug
        raise ConfigError(
            f"The Alembic configuration {path} cannot be read: {type(exc).__name__}: {exc}.",
            "Fix the file; `alembic -c " + str(path) + " heads` shows the same problem.",
        ) from None
    if not location:
        raise ConfigError(
            f"The Alembic configuration {path} has no script_location.",
            "Add script_location = %(here)s/migrations (the directory holding env.py) under [alembic].",
        )
    if ":" not in location or Path(location).is_absolute():  # not a package resource ("pkg:dir")
        resolved = Path(location)
        if not resolved.is_absolute():
            resolved = path.parent / resolved
        cfg.set_main_option("script_location", str(resolved).replace("%", "%%"))
    return cfg


def script_directory(cfg: Config) -> ScriptDirectory:
    from alembic.script import ScriptDirectory  # lazy: start-up (Alembic; only apps that keep migrations)
    from alembic.util import CommandError  # lazy: start-up (Alembic; only apps that keep migrations)

    try:
        return ScriptDirectory.from_config(cfg)
    except CommandError as exc:
        raise ConfigError(
            f"The Alembic project at {cfg.get_main_option('script_location')} cannot be used: {exc}.",
            "Create it with `alembic init`, or fix script_location in the Alembic configuration.",
        ) from None


def heads(script: ScriptDirectory) -> tuple[str, ...]:
    from alembic.util import CommandError  # lazy: start-up (Alembic; only apps that keep migrations)

    try:
        return tuple(script.get_heads())
    except CommandError as exc:
        raise ConfigError(
            f"The Alembic revisions cannot be read: {exc}.",
            "Fix the revision files (a down_revision naming a revision that does not exist, a cycle).",
        ) from None


def version_table(cfg: Config) -> str:
    return cfg.get_main_option("version_table") or DEFAULT_VERSION_TABLE


def current(conn: psycopg.Connection, table: str = DEFAULT_VERSION_TABLE) -> tuple[str, ...]:
    """The revisions recorded in the database's version table (empty when the table does not exist)."""
    found = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"public.{table}",)).fetchone()
    if not found or not found[0]:
        return ()
    rows = conn.execute(sql.SQL("SELECT version_num FROM {} ORDER BY 1").format(sql.Identifier("public", table)))
    return tuple(str(r[0]) for r in rows.fetchall())


def state(conn: psycopg.Connection, settings: Settings, cfg: Config | None = None) -> State:
    """Which revisions the database has and which it still needs (oldest first)."""
    from alembic.util import CommandError  # lazy: start-up (Alembic; only apps that keep migrations)

    cfg = cfg or load_config(settings)
    script = script_directory(cfg)
    table = version_table(cfg)
    at = current(conn, table)
    tips = heads(script)
    try:
        pending = [
            Revision(r.revision, (r.doc or "").strip(), r.path)
            for r in script.iterate_revisions("heads", at or "base")
            if r.revision not in at
        ]
    except CommandError as exc:
        raise ConfigError(
            f"The database is at Alembic revision {', '.join(at) or 'base'}, which the project's revisions do not "
            f"lead to: {exc}.",
            "The database was migrated from another branch or a revision file was removed; restore the file, "
            "or `alembic stamp` the revision the schema really is at.",
        ) from None
    pending.reverse()
    return State(at, tips, tuple(pending), table)
