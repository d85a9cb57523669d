"""Recalling the models' schema without importing them, for the read-only looks (status, check, diff).

Importing the models costs SQLAlchemy's import plus compiling their DDL (about 1.5 s for 1,000 tables
here), which `status` and `check` cannot afford if they are to feel instant. So whenever the models
are really imported, we record what that import depended on, the way a build system records a
target's inputs:
  - every file it opened (Python's `open` audit event: the models' modules and anything they read at
    import time, such as a config file), outside the interpreter's own installation, with size,
    mtime and hash; plus the listing of each directory a module came from (a new module there may be
    picked up by a package that imports its directory's contents);
  - every environment variable it read, with a keyed hash of its value with secrets masked (never
    the value, nor a plain hash a password could be guessed from: `cachefiles.value_hash`), through a recording `os.environ` while the import runs; code that iterates over the
    whole environment makes the result unrecallable;
  - the SQLAlchemy and schemasync versions and the server;
and the key of the desired schema in the DDL cache (`schema/target.py`). `recall` re-checks those
inputs; if none changed, the cached desired schema is still what the models compile to.

`sync`, `push` and the production flow never recall: they always import the models, so what they
apply is computed afresh (and a stale recall can at worst make a look report old drift).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import sysconfig
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import psycopg

from schemasync import __version__
from schemasync.privatefiles import write_private
from schemasync.schema.cachefiles import value_hash
from schemasync.schema.model import RenameHints, Schema
from schemasync.schema.target import cache_read

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


_INSTALLED = tuple(
    {
        str(Path(p).resolve())
        for p in (sys.prefix, sys.base_prefix, sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"])
    }
)


@dataclass
class Inputs:
    """What one import of the models read: files and environment variables."""

    files: set[Path] = field(default_factory=set)
    env: dict[str, str | None] = field(default_factory=dict)
    whole_environment: bool = False


_tracking: list[Inputs] = []
_hooked = False


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event != "open" or not _tracking or not args:
        return
    path = args[0]
    if isinstance(path, str | bytes | os.PathLike):
        with contextlib.suppress(OSError, TypeError, ValueError):
            _tracking[-1].files.add(Path(os.fsdecode(path)).resolve())


class _RecordingEnviron(MutableMapping[str, str]):
    """`os.environ` while the models import: remembers which variables were read."""

    def __init__(self, real: MutableMapping[str, str], inputs: Inputs) -> None:
        self._real = real
        self._inputs = inputs

    def __getitem__(self, key: str) -> str:
        self._inputs.env[key] = self._real.get(key)
        return self._real[key]

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self._inputs.env[key] = self._real.get(key)
        return key in self._real

    def __setitem__(self, key: str, value: str) -> None:
        self._real[key] = value

    def __delitem__(self, key: str) -> None:
        del self._real[key]

    def __iter__(self) -> Iterator[str]:
        self._inputs.whole_environment = True
        return iter(self._real)

    def __len__(self) -> int:
        self._inputs.whole_environment = True
        return len(self._real)

    def copy(self) -> dict[str, str]:
        self._inputs.whole_environment = True
        return dict(self._real)


@contextlib.contextmanager
def tracking() -> Iterator[Inputs]:
    """Record the files and environment variables read inside the block (the models' import)."""
    global _hooked  # noqa: PLW0603
    if not _hooked:
        sys.addaudithook(_audit)  # audit hooks cannot be removed: this one is idle outside `tracking`
        _hooked = True
    inputs = Inputs()
    real = os.environ
    os.environ = _RecordingEnviron(real, inputs)  # type: ignore[assignment]  # noqa: B003 (a wrapper, on purpose)
    _tracking.append(inputs)
    try:
        yield inputs
    finally:
        _tracking.pop()
        os.environ = real  # noqa: B003


def _relevant(path: Path) -> bool:
    text = str(path)
    return (
        path.suffix != ".pyc"
        and not text.startswith(_INSTALLED)
        and "site-packages" not in path.parts
        and path.is_file()
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists())


def remember(
    cache_dir: Path,
    conn: psycopg.Connection,
    *,
    models: str,
    project_dir: Path,
    key: str,
    hints: RenameHints,
    inputs: Inputs,
    context: dict[str, Any] | None = None,
) -> None:
    """Note what the models just compiled to and what their import read (best effort)."""
    path = _entry_path(cache_dir, models, project_dir)
    try:
        if inputs.whole_environment:  # the models' DDL may depend on anything in the environment
            path.unlink(missing_ok=True)
            return
        files = sorted(f for f in inputs.files if _relevant(f))
        modules = [f for f in files if f.suffix == ".py"]
        entry = {
            "format": FORMAT,
            "models": models,
            "project_dir": str(project_dir.resolve()),
            "schemasync": __version__,
            "sqlalchemy": _sqlalchemy_version(),
            "server": _server(conn),
            "context": context or {},
            "key": key,
            "hints": {"tables": [list(t) for t in hints.tables], "columns": [list(c) for c in hints.columns]},
            "files": [[str(f), f.stat().st_size, f.stat().st_mtime_ns, _sha256(f)] for f in files],
            "listings": {str(d): _listing(d) for d in sorted({f.parent for f in modules})},
            "env": {name: value_hash(cache_dir, value) for name, value in sorted(inputs.env.items())},
        }
        write_private(path, json.dumps(entry))
    except OSError as exc:
        log.debug("could not remember the models' inputs: %s", exc)


def recall(
    cache_dir: Path, conn: psycopg.Connection, models: str, project_dir: Path, *, context: dict[str, Any] | None = None
) -> Recalled | None:
    """The desired schema and hints if nothing the models were built from has changed; else None.

    `context`: where the models are materialised (`devdb.DevChoice.key_material`); another dev
    database choice, server major, search path or extension set means another cache key."""
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
            or entry.get("context", {}) != json.loads(json.dumps(context or {}))
            or entry["sqlalchemy"] != _sqlalchemy_version()
        ):
            return None
        for name, digest in entry["env"].items():
            if value_hash(cache_dir, os.environ.get(name)) != digest:
                return None
        for filename, size, mtime_ns, digest in entry["files"]:
            file = Path(filename)
            stat = file.stat()
            if (stat.st_size, stat.st_mtime_ns) != (size, mtime_ns) and _sha256(file) != digest:
                return None
        for directory, names in entry["listings"].items():
            if _listing(Path(directory)) != names:
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
