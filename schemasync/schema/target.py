"""SQLAlchemy models -> `Schema`: the schema the models ask for, *as PostgreSQL renders it*.

Why materialise instead of translating. Reconciling declared SQLAlchemy objects with reflected ones is
where Alembic's false positives come from (`VARCHAR` vs `character varying`, `now()` vs
`CURRENT_TIMESTAMP`, casts and quoting in stored defaults, serial vs identity, naming-convention
names). So we do not translate at all: the models' DDL is run on the same server as the live side
and read back with the same inspector (`schema/inspect.py`). Whatever PostgreSQL does to a default,
a type or an index expression, it does to both sides, and equal schemas compare equal.

Where. In the target database itself, inside a transaction that is always rolled back:
  1. the DDL of `metadata.create_all()` is compiled for the PostgreSQL dialect through a mock engine,
     with SQLAlchemy's schema-translate placeholders in place of every schema name (also in
     hand-written text such as `nextval('inventory.batch_seq')` when it names an object the models
     create; other qualified names, such as an extension's `public.citext`, stay as written);
  2. one scratch schema per schema the models use (random names such as
     `ss_scratch_3f9a0c1e22b4_0`; tables with `schema=None` count as `public`) is created, the
     search path is set to the caller's with each models schema preceded by its scratch schema (so
     unqualified names in text defaults and expressions find the models' objects first and the
     database's extensions after), and the DDL runs: all of it in one pipeline, each statement alone
     through the extended protocol (the models' text is input: it can never carry a second statement,
     and transaction control is refused before it is sent, so nothing can end the transaction);
     when the batch fails, it runs again object by object, each in a savepoint, and every object the
     server refuses becomes a model error (`model.ModelError`) instead of refusing the whole models;
  3. the scratch schemas are inspected, and their names are mapped back to the real ones in every
     field (table and FK target schemas, enum types, `nextval('...')` defaults, index definitions);
  4. the transaction is rolled back: nothing is left behind, also when the DDL fails or the process
     dies (the server aborts an unfinished transaction). Uncommitted scratch schemas are invisible
     to every other session, so concurrent runs and the live inspection never see them.
Same server, same extensions, collations and version as the live side. Which database `conn` is
depends on the caller: `schema/devdb.py` chooses a dev database (of the target's major version, with
the extensions the models use) so that the target itself needs only read privileges, and falls back
to the target's own scratch schemas when nothing else is available.

Privileges: the user needs CREATE on the database it materialises in (for `CREATE SCHEMA`); without it
`desired` fails with a ConfigError that says so. Nothing is committed and
no live table is locked (the DDL only touches the scratch schemas, unless the models' own DDL events
name real schemas explicitly).

Cache: the result is stored as JSON in `cache_dir`, keyed by a hash of the compiled DDL text (with
placeholders, so it is stable), the server version, the database (host, port, name: extensions may
differ between databases), or, materialised in a dev database, what `DevChoice.key_material` lists,
and the inspector's own source, so a repeated check needs no round trip
at all and an upgraded schemasync never reads a stale entry.

Declared but not managed (the models' own DDL events other than the ones `ddl.managed_ddl` recognises,
inheritance, tablespaces, ...) is listed in `Schema.unmanaged_declared`, so `check` never calls it in sync.
Views (`CreateView`, a `CREATE VIEW` DDL event, an alembic_utils entity: `schema/entities.py`) are
managed: the scratch names in their definitions are mapped back. So are functions, procedures,
triggers, policies, row-level security (`ALTER TABLE ... ENABLE|FORCE ROW LEVEL SECURITY`) and privileges
(GRANT on named objects; one ON SCHEMA is pointed at the scratch schema) declared by DDL events: a routine's name is put in the scratch schema (qualified names through
the placeholder pass, unqualified ones given the default schema's placeholder), so
`CREATE FUNCTION public.f()` never lands in the real schema.

Known limits: a cached entry does not notice an extension installed or dropped in the same database
afterwards (change the models or delete the cache directory). The placeholder pass also rewrites
qualified names of the models' objects inside a routine's body (so a SQL function can be validated
against the scratch tables), and mapping back restores them, except that a needlessly quoted schema
name (`"public".docs`) comes back bare and then differs from the live body. A DDL event can still
reach outside the transaction by its own means (`dblink`, `nextval` on a real sequence).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

from schemasync import cycles
from schemasync.privatefiles import write_private
from schemasync.schema.declared import collapse_duplicates, declared_names
from schemasync.schema.loading import load_models, rename_hints
from schemasync.schema.model import Schema

if TYPE_CHECKING:
    from sqlalchemy import MetaData

    from schemasync.schema.devdb import DevChoice

from schemasync.schema import devdb
from schemasync.schema.ddl import ModelDDL, compile_models
from schemasync.schema.scratch import materialise

log = logging.getLogger(__name__)

__all__ = [
    "cache_read",
    "desired",
    "desired_keyed",
    "load_models",
    "rename_hints",
]

CACHE_KEEP = 16  # cached results kept per cache directory, newest first


def desired(conn: psycopg.Connection, metadata: MetaData, *, cache_dir: Path | None) -> Schema:
    """The models' schema as PostgreSQL renders it (see the module docstring for how and why)."""
    return desired_keyed(conn, metadata, cache_dir=cache_dir)[0]


def desired_keyed(
    conn: psycopg.Connection,
    metadata: MetaData,
    *,
    cache_dir: Path | None,
    ddl: ModelDDL | None = None,
    dev: DevChoice | None = None,
) -> tuple[Schema, str]:
    """`desired`, plus the cache key it is stored under (for `schema/recall.py`).

    `ddl`: the models' compiled DDL when the caller already has it (a fleet check compiles once for
    every database instead of once per database). `dev`: where to materialise them (`schema/devdb.py`);
    None materialises in `conn`'s own scratch schemas running every statement, which is only for a `conn` that
    is a database of its own (a test's, a dev database): the CLI and the flows always pass the choice, whose
    SCRATCH kind confines what runs in a target (`scratch.materialise_in_target`). One thread at a time materialises a given key
    (a fleet checked in parallel shares one materialisation per dev database and server version)."""
    with cycles.paused():
        return _desired_keyed(conn, metadata, cache_dir=cache_dir, ddl=ddl, dev=dev)


def _desired_keyed(
    conn: psycopg.Connection, metadata: MetaData, *, cache_dir: Path | None, ddl: ModelDDL | None, dev: DevChoice | None
) -> tuple[Schema, str]:
    ddl = ddl if ddl is not None else compile_models(metadata)
    key = _cache_key(conn, ddl, dev)
    cached = cache_read(cache_dir, key)
    if cached is not None:
        return cached, key
    with _key_lock(key):
        cached = cache_read(cache_dir, key)  # another thread may have materialised it meanwhile
        if cached is not None:
            return cached, key
        if dev is None:
            schema, cacheable = materialise(conn, ddl), True
        else:
            schema, cacheable = devdb.materialise(dev, conn, ddl)
        result, collapsed = collapse_duplicates(replace(schema, declared_names=declared_names(metadata)))
        result = replace(result, warnings=(*ddl.warnings, *schema.warnings, *collapsed))
        if cacheable:
            _cache_write(cache_dir, key, result)
    return result, key


_key_locks: dict[str, threading.Lock] = {}
_key_locks_guard = threading.Lock()


def _key_lock(key: str) -> threading.Lock:
    with _key_locks_guard:
        return _key_locks.setdefault(key, threading.Lock())


def _cache_key(conn: psycopg.Connection, ddl: ModelDDL, dev: DevChoice | None = None) -> str:
    """What could change the materialised result: the code, the DDL, and where it is materialised.

    Without `dev`, the target's own server version and database; with it, the dev database choice,
    the target's major version, search path and extensions (`DevChoice.key_material`), so a fleet on
    one server major shares an entry and a changed dev database choice never reads another's.
    """
    info = conn.info
    material: dict[str, Any] = {
        "inspector": _inspector_fingerprint(),
        "schemas": list(ddl.schemas),
        "ddl": ddl.digest(),
    }
    if dev is None:
        material |= {"server_version": info.server_version, "database": [info.host, info.port, info.dbname]}
    else:
        material |= dev.key_material()
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:40]


_fingerprint: str | None = None


def _inspector_fingerprint() -> str:
    """A hash of the code that shapes the value, so a new schemasync never reads an old cache entry."""
    global _fingerprint  # noqa: PLW0603
    if _fingerprint is None:
        digest = hashlib.sha256()
        package = resources.files("schemasync.schema")
        for name in (
            "model.py",
            "inspect.py",
            "target.py",
            "ddl.py",
            "scratch.py",
            "declared.py",
            "devdb.py",
            "extensions.py",
        ):
            digest.update(package.joinpath(name).read_bytes())
        for entry in sorted(package.joinpath("sql").iterdir(), key=lambda p: p.name):
            if entry.name.endswith(".sql"):
                digest.update(entry.name.encode() + entry.read_bytes())
        _fingerprint = digest.hexdigest()
    return _fingerprint


def _cache_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"desired-{key}.json"


def cache_read(cache_dir: Path | None, key: str) -> Schema | None:
    if cache_dir is None:
        return None
    path = _cache_path(cache_dir, key)
    try:
        schema = Schema.from_json(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        log.debug("ignoring unreadable cache entry %s: %s", path, exc)
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # keep recently used entries when pruning
    return schema


def _cache_write(cache_dir: Path | None, key: str, schema: Schema) -> None:
    """Best effort: a cache that cannot be written only costs time, so it never fails the command."""
    if cache_dir is None:
        return
    path = _cache_path(cache_dir, key)
    try:
        write_private(path, schema.to_json())  # the schema is not for other local users (0600, 0700)
        for old in _by_age(cache_dir)[CACHE_KEEP:]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        log.debug("could not write the schema cache in %s: %s", cache_dir, exc)


def _by_age(cache_dir: Path) -> list[Path]:
    def mtime(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:
            return 0.0

    return sorted(cache_dir.glob("desired-*.json"), key=mtime, reverse=True)
