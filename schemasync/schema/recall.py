"""Recalling the models' schema without importing them, for `status`.

Importing the models costs SQLAlchemy's import plus compiling their DDL (about 1.5 s for 1,000 tables
here), which `status` cannot afford if it is to feel instant. So whenever the models are really
loaded, we remember which of the project's source files that import consisted of (path, size,
mtime, hash, and the listing of each package directory), the SQLAlchemy and schemasync versions,
the server, and the key of the desired schema in the DDL cache (`schema/target.py`). `recall` checks
those files the way a build system checks its inputs: if none changed, the cached desired schema is
still what the models compile to, and no import is needed.

What it cannot see: models whose DDL depends on something other than the project's source files
(an environment variable, a file read at import time). That is why only `status`, which is
informational, uses the shortcut; `check`, `diff`, `sync` and the flows always import the models.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import psycopg

from schemasync import __version__
from schemasync.schema.model import RenameHints, Schema

log = logging.getLogger(__name__)

FORMAT = 1


@dataclass(frozen=True, slots=True)
class Recalled:
    desired: Schema
    hints: RenameHints


def _entry_path(cache_dir: Path, models: str, project_dir: Path) -> Path:
    digest = hashlib.sha256(f"{models}\0{project_dir.resolve()}".encode()).hexdigest()[:24]
    return cache_dir / f"models-{digest}.json"


def _server(conn: psycopg.Connection) -> list[Any]:
    info = conn.info
    return [info.host, info.port, info.dbname, info.server_version]


def _sqlalchemy_version() -> str:
    try:
        return importlib_metadata.version("sqlalchemy")
    except importlib_metadata.PackageNotFoundError:
        return "none"


def _project_files(project_dir: Path) -> list[Path]:
    """Source files of modules loaded from the project (not from an environment inside it)."""
    root = project_dir.resolve()
    files = set()
    for module in list(sys.modules.values()):
        filename = getattr(module, "__file__", None)
        if not filename:
            continue
        path = Path(filename).resolve()
        if path.is_relative_to(root) and "site-packages" not in path.parts and path.suffix == ".py":
            files.add(path)
    return sorted(files)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists())


def remember(
    cache_dir: Path, conn: psycopg.Connection, *, models: str, project_dir: Path, key: str, hints: RenameHints
) -> None:
    """Note what the models just compiled to and which project files they came from (best effort)."""
    try:
        root = project_dir.resolve()
        files = _project_files(project_dir)
        entry = {
            "format": FORMAT,
            "models": models,
            "project_dir": str(root),
            "schemasync": __version__,
            "sqlalchemy": _sqlalchemy_version(),
            "server": _server(conn),
            "key": key,
            "hints": {"tables": [list(t) for t in hints.tables], "columns": [list(c) for c in hints.columns]},
            "files": [[str(f.relative_to(root)), f.stat().st_size, f.stat().st_mtime_ns, _sha256(f)] for f in files],
            "listings": {str(d.relative_to(root)): _listing(d) for d in sorted({f.parent for f in files})},
        }
        cache_dir.mkdir(parents=True, exist_ok=True)
        path = _entry_path(cache_dir, models, project_dir)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entry), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        log.debug("could not remember the models' sources: %s", exc)


def recall(cache_dir: Path, conn: psycopg.Connection, models: str, project_dir: Path) -> Recalled | None:
    """The desired schema and hints if nothing the models were built from has changed; else None."""
    from schemasync.schema.target import cache_read

    path = _entry_path(cache_dir, models, project_dir)
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        root = project_dir.resolve()
        if (
            entry.get("format") != FORMAT
            or entry["models"] != models
            or entry["project_dir"] != str(root)
            or entry["schemasync"] != __version__
            or entry["server"] != _server(conn)
            or entry["sqlalchemy"] != _sqlalchemy_version()
        ):
            return None
        for relative, size, mtime_ns, digest in entry["files"]:
            file = root / relative
            stat = file.stat()
            if (stat.st_size, stat.st_mtime_ns) != (size, mtime_ns) and _sha256(file) != digest:
                return None
        for relative, names in entry["listings"].items():
            if _listing(root / relative) != names:
                return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    desired = cache_read(cache_dir, entry["key"])
    if desired is None:
        return None
    hints = RenameHints(
        tuple(tuple(t) for t in entry["hints"]["tables"]),  # type: ignore[misc]
        tuple(tuple(c) for c in entry["hints"]["columns"]),  # type: ignore[misc]
    )
    return Recalled(desired, hints)
