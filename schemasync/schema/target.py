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
     database's extensions after), and the DDL runs: all of it in one round trip;
  3. the scratch schemas are inspected, and their names are mapped back to the real ones in every
     field (table and FK target schemas, enum types, `nextval('...')` defaults, index definitions);
  4. the transaction is rolled back: nothing is left behind, also when the DDL fails or the process
     dies (the server aborts an unfinished transaction). Uncommitted scratch schemas are invisible
     to every other session, so concurrent runs and the live inspection never see them.
Same server, same extensions, collations and version as the live side, which a separate scratch
database would not guarantee (and creating one needs CREATEDB and leaves debris when killed).

Privileges: the user needs CREATE on the database (for `CREATE SCHEMA`), which an application owner
normally has; without it `desired` fails with a ConfigError that says so. Nothing is committed and
no live table is locked (the DDL only touches the scratch schemas, unless the models' own DDL events
name real schemas explicitly).

Cache: the result is stored as JSON in `cache_dir`, keyed by a hash of the compiled DDL text (with
placeholders, so it is stable), the server version, the database (host, port, name: extensions may
differ between databases) and the inspector's own source, so a repeated check needs no round trip
at all and an upgraded schemasync never reads a stale entry.

Known limits: a cached entry does not notice an extension installed or dropped in the same database
afterwards (change the models or delete the cache directory); objects the models create through
their own DDL events (a view, a function) are reported with a definition hash taken over the scratch
names, so it differs from the live one; such objects are reported, never managed.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import logging
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql as pgsql
from psycopg.rows import tuple_row

from schemasync.errors import ConfigError
from schemasync.schema.cachefiles import write_private
from schemasync.schema.inspect import ALWAYS_PRESENT_SCHEMAS, inspect
from schemasync.schema.loading import DEFAULT_SCHEMA, first_line, load_models, rename_hints
from schemasync.schema.model import Schema, Table

if TYPE_CHECKING:
    from sqlalchemy import MetaData

log = logging.getLogger(__name__)

__all__ = [
    "cache_read",
    "compile_models",
    "desired",
    "desired_keyed",
    "load_models",
    "map_schema_names",
    "model_schemas",
    "rename_hints",
]

CACHE_KEEP = 16  # cached results kept per cache directory, newest first
_PLACEHOLDER = re.compile(r"__\[SCHEMA_([^\]]+)\]")  # SQLAlchemy's schema-translate placeholder
_NONE_SCHEMA = "_none"  # what SQLAlchemy writes in the placeholder for schema=None
SETUP = "the scratch schema setup"


# -- compiling the models' DDL -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Statement:
    """One DDL statement of `create_all`, with schema placeholders, and what it creates (for errors).

    `table` is the table the statement belongs to (None for types, sequences, schemas: shared) and
    `refs` the tables its foreign keys point at; `custom` marks the models' own DDL events, whose
    text may name anything. Together they let `schema/chunks.py` split huge models into groups
    that can be materialised one transaction at a time.
    """

    what: str
    text: str
    table: tuple[str, str] | None = None
    refs: tuple[tuple[str, str], ...] = ()
    custom: bool = False


@dataclass(frozen=True, slots=True)
class ModelDDL:
    statements: tuple[Statement, ...]
    schemas: tuple[str, ...]  # real schema names the models use, `public` for schema=None

    def digest(self) -> str:
        """Hash of the statements as a set: create_all emits a table's indexes in set order."""
        return hashlib.sha256("\n;\n".join(sorted(s.text for s in self.statements)).encode()).hexdigest()


def compile_models(metadata: MetaData) -> ModelDDL:
    """The DDL `metadata.create_all()` would run on PostgreSQL, in order, with schema placeholders.

    Besides SQLAlchemy's own placeholders, schema-qualified names the models write by hand in text
    (`server_default=text("nextval('inventory.batch_seq')")`, a CHECK or index expression) are turned
    into placeholders too when they name an object the models create: outside `public` such names
    must be qualified, and without this they would point at the live object, or fail when it does
    not exist yet. Names of other objects (an extension's `public.citext`) are left alone.
    """
    from sqlalchemy import create_mock_engine, exc

    from schemasync.schema import identifiers

    for warning in identifiers.check(metadata):
        log.warning("%s.", warning)
    collected: list[tuple[str, str, bool]] = []
    objects: set[tuple[str, str]] = set()

    def collect(element: Any, *multiparams: Any, **params: Any) -> None:
        what = describe(element)
        try:
            compiled = element.compile(dialect=engine.dialect, schema_translate_map={None: None})
        except (exc.SQLAlchemyError, AssertionError, TypeError, ValueError, AttributeError) as error:
            # SQLAlchemy also signals bad models with plain exceptions (an unnamed index under a naming
            # convention without "ix" is an AssertionError): the user's models are input, not our bug.
            if getattr(getattr(element, "element", None), "name", "") is None:
                raise ConfigError(
                    f"The models' {what.replace(' None ', ' (unnamed) ')} has no name, and the naming convention has no pattern for it.",
                    "Give it a name, or add a pattern for it to the MetaData's naming_convention "
                    '(for example "ix": "ix_%(table_name)s_%(column_0_N_name)s").',
                ) from None
            raise ConfigError(
                f"The models' DDL for {what} cannot be compiled for PostgreSQL: {first_line(error)}.",
                "Fix that object in the models; SQLAlchemy's reason is given above.",
            ) from None
        created = _created_object(element)
        if created is not None:
            objects.add(created)
        collected.append((what, str(compiled).strip(), type(element).__name__ not in _VERBATIM, *_owner(element)))

    # paramstyle "named": with psycopg's default "pyformat", SQLAlchemy doubles every % in the DDL (defaults,
    # checks, comments) for a parameter pass that never happens here, and "100%" would be stored as "100%%".
    engine = create_mock_engine("postgresql+psycopg://", collect, paramstyle="named")  # type: ignore[arg-type]
    try:
        with _no_cycle_collection():
            metadata.create_all(engine, checkfirst=False)  # type: ignore[arg-type]
    except ConfigError:
        raise
    except (exc.SQLAlchemyError, AssertionError, TypeError, ValueError, AttributeError) as error:
        raise ConfigError(
            f"The models cannot be turned into PostgreSQL DDL: {first_line(error)}.",
            "Fix the model definition the message names (for example a ForeignKey to a table or column that "
            "does not exist, or a name longer than PostgreSQL's 63 bytes).",
        ) from None

    def placeholder(m: re.Match[str]) -> str:
        schema, name = _unquote(m.group("schema")), _unquote(m.group("name"))
        if (schema, name) in objects:
            return f"__[SCHEMA_{schema}]{m.group('dot')}{m.group('name')}"
        return m.group(0)

    statements = tuple(
        Statement(what, _QUALIFIED.sub(placeholder, text) if rewrite else text, table, refs, custom)
        for what, text, rewrite, table, refs, custom in collected
    )
    names = {_real(m) for s in statements for m in _PLACEHOLDER.findall(s.text)}
    return ModelDDL(statements, tuple(sorted(names)))


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused while SQLAlchemy compiles the models' DDL.

    The mock engine's dialect memoises an adapted type for every column (10,000 objects and their
    memo dicts and weakrefs for 1,000 tables), and the dialect is held in reference cycles, so all of
    it is garbage only a collection frees. Collected while the compile runs, those objects survive into
    the oldest generation, and the next full collection (~130 ms over the models' heap at 1,000
    tables) comes due a moment later, in the cache read. Paused, they never leave the youngest
    generation, whose next collection frees them for ~15 ms. Nothing else changes: the same DDL.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


# Statements whose text is data, not references: enum labels and comments are kept verbatim.
_VERBATIM = {"CreateEnumType", "SetTableComment", "SetColumnComment", "DropTableComment", "DropColumnComment"}
_IDENT = r'(?:[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*|"(?:[^"]|"")+")'
_QUALIFIED = re.compile(rf'(?<![\w$".\]])(?P<schema>{_IDENT})(?P<dot>\s*\.\s*)(?P<name>{_IDENT})(?![\w$"])')


def _unquote(identifier: str) -> str:
    """An identifier as the catalog stores it: quoted ones verbatim, bare ones folded to lower case."""
    if identifier.startswith('"'):
        return identifier[1:-1].replace('""', '"')
    return identifier.lower()


def _created_object(element: Any) -> tuple[str, str] | None:
    """(schema, name) of the table, sequence, type or index a DDL element creates, if any."""
    kind = type(element).__name__
    target = getattr(element, "element", None)
    if target is None or kind not in {
        "CreateTable",
        "CreateSequence",
        "CreateEnumType",
        "CreateDomainType",
        "CreateIndex",
    }:
        return None
    owner = target.table if kind == "CreateIndex" else target
    name = getattr(target, "name", None)
    if not isinstance(name, str):
        return None
    return (getattr(owner, "schema", None) or DEFAULT_SCHEMA, name)


def _owner(element: Any) -> tuple[tuple[str, str] | None, tuple[tuple[str, str], ...], bool]:
    """(table the statement belongs to, tables its foreign keys reference, whether it is custom DDL)."""
    kind = type(element).__name__
    if kind == "DDL":
        return None, (), True
    target = getattr(element, "element", None)
    table = None
    if kind == "CreateTable":
        table = target
    elif kind in {"CreateIndex", "AddConstraint", "SetColumnComment", "DropColumnComment"}:
        table = getattr(target, "table", None)
    elif kind in {"SetTableComment", "DropTableComment"}:
        table = target
    if table is None or not isinstance(getattr(table, "name", None), str):
        return None, (), False
    refs: set[tuple[str, str]] = set()
    for fk in getattr(table, "foreign_keys", ()) if kind == "CreateTable" else getattr(target, "elements", ()):
        with contextlib.suppress(Exception):  # an unresolvable reference fails compilation with its own message
            ref = fk.column.table
            refs.add((ref.schema or DEFAULT_SCHEMA, ref.name))
    return (table.schema or DEFAULT_SCHEMA, table.name), tuple(sorted(refs)), False


def model_schemas(metadata: MetaData) -> tuple[str, ...]:
    """The schemas the models put objects in (`public` for schema=None): what to inspect live.

    Read off the objects rather than compiled (compiling 1,000 tables takes most of a second); the
    tests hold it equal to `compile_models(metadata).schemas`.
    """
    from sqlalchemy import Sequence as SASequence
    from sqlalchemy.types import SchemaType

    names: set[str | None] = {seq.schema for seq in metadata._sequences.values()}
    for table in metadata.tables.values():
        names.add(table.schema)
        for column in table.columns:
            if isinstance(column.type, SchemaType) and getattr(column.type, "name", None):
                names.add(column.type.schema)
            if isinstance(column.default, SASequence):
                names.add(column.default.schema)
    return tuple(sorted({name or DEFAULT_SCHEMA for name in names}))


def describe(element: Any) -> str:
    """'index ix_users_email on public.users': the object a DDL element creates, for error messages."""
    target = getattr(element, "element", None)
    kind = type(element).__name__
    kinds = {
        "CreateTable": "table",
        "CreateIndex": "index",
        "CreateSequence": "sequence",
        "CreateEnumType": "enum type",
        "CreateDomainType": "domain",
        "AddConstraint": "constraint",
        "SetTableComment": "the comment on table",
        "SetColumnComment": "the comment on column",
        "CreateSchema": "schema",
        "CreateView": "view",
    }
    if kind == "CreateIndex" and target is not None:
        return f"index {target.name} on table {_qualified(target.table)}"
    if kind == "AddConstraint" and target is not None:
        return f"constraint {target.name} on table {_qualified(target.table)}"
    if kind == "SetColumnComment" and target is not None:
        return f"the comment on column {_qualified(target.table)}.{target.name}"
    if kind in kinds and target is not None:
        name = _qualified(target) if hasattr(target, "schema") else str(target)
        return f"{kinds[kind]} {name}"
    if kind == "DDL":
        return f"custom DDL {str(getattr(element, 'statement', ''))[:60]!r}"
    return kind


def _qualified(obj: Any) -> str:
    if obj is None:
        return "?"
    return f"{getattr(obj, 'schema', None) or DEFAULT_SCHEMA}.{getattr(obj, 'name', obj)}"


def _real(placeholder_name: str) -> str:
    return DEFAULT_SCHEMA if placeholder_name == _NONE_SCHEMA else placeholder_name


# -- materialising and inspecting ----------------------------------------------------------------


def desired(conn: psycopg.Connection, metadata: MetaData, *, cache_dir: Path | None) -> Schema:
    """The models' schema as PostgreSQL renders it (see the module docstring for how and why)."""
    return desired_keyed(conn, metadata, cache_dir=cache_dir)[0]


def desired_keyed(
    conn: psycopg.Connection, metadata: MetaData, *, cache_dir: Path | None, ddl: ModelDDL | None = None
) -> tuple[Schema, str]:
    """`desired`, plus the cache key it is stored under (for `schema/recall.py`).

    `ddl`: the models' compiled DDL when the caller already has it (a fleet check compiles once for
    every database instead of once per database)."""
    ddl = ddl if ddl is not None else compile_models(metadata)
    key = _cache_key(conn, ddl)
    cached = cache_read(cache_dir, key)
    if cached is not None:
        return cached, key
    result = materialise(conn, ddl)
    _cache_write(cache_dir, key, result)
    return result, key


def materialise(conn: psycopg.Connection, ddl: ModelDDL) -> Schema:
    """Run the DDL in scratch schemas inside a rolled-back transaction and inspect the result.

    Every object created holds a lock until the transaction ends, and the server's lock table is
    finite (`max_locks_per_transaction`): models too big for it are materialised in groups of
    tables linked by foreign keys, one rolled-back transaction each (`schema/chunks.py`).
    """
    from schemasync.schema import chunks

    groups = chunks.split(ddl, chunks.budget(conn))
    if len(groups) == 1:
        return _materialise_one(conn, groups[0].ddl)
    log.debug("materialising the models in %d groups to stay within the server's lock table", len(groups))
    return chunks.merge([(_materialise_one(conn, group.ddl), group.stubs) for group in groups])


def _materialise_one(conn: psycopg.Connection, ddl: ModelDDL) -> Schema:
    token = uuid.uuid4().hex[:12]
    scratch = {real: f"ss_scratch_{token}_{i}" for i, real in enumerate(ddl.schemas)}
    setup = _setup_statements(scratch)
    batch = ";\n".join([*setup, *(_render(s.text, scratch) for s in ddl.statements)])
    failure: psycopg.Error | None = None
    with conn.transaction(force_rollback=True):
        cur = conn.cursor(row_factory=tuple_row)
        try:
            cur.execute(batch)  # one round trip: setup, scratch schemas, all the models' DDL
        except psycopg.Error as error:
            failure = error
        if failure is None:
            row = cur.fetchone()
            quoted = dict(zip(scratch, row[0], strict=True)) if row else {}
            inspected = inspect(conn, schemas=list(scratch.values()))
    if failure is not None:
        raise _explain_failure(conn, ddl, scratch, failure)
    back = {name: real for real, name in scratch.items()}
    return map_schema_names(inspected, back, {name: quoted.get(real, real) for real, name in scratch.items()})


def _setup_statements(scratch: dict[str, str]) -> list[str]:
    """Search path: the caller's, each models schema preceded by its scratch schema; then the schemas.

    The first statement also returns each real schema name as `quote_ident` writes it, which is how
    it must appear in rendered SQL after mapping back.
    """
    pairs = pgsql.SQL(", ").join(
        pgsql.SQL("({}, {})").format(pgsql.Literal(r), pgsql.Literal(s)) for r, s in scratch.items()
    )
    reals = pgsql.SQL(", ").join(pgsql.Literal(r) for r in scratch)
    first = pgsql.SQL(
        """SELECT ARRAY(SELECT pg_catalog.quote_ident(r) FROM pg_catalog.unnest(ARRAY[{reals}]::text[]) WITH ORDINALITY AS q(r, o) ORDER BY o),
       pg_catalog.set_config('search_path', COALESCE((
         SELECT pg_catalog.string_agg(CASE WHEN m.scratch IS NULL THEN pg_catalog.quote_ident(p.s)
                                           ELSE m.scratch || ', ' || pg_catalog.quote_ident(p.s) END, ', ' ORDER BY p.o)
         FROM pg_catalog.unnest(pg_catalog.current_schemas(false)) WITH ORDINALITY AS p(s, o)
         LEFT JOIN (VALUES {pairs}) AS m(real, scratch) ON m.real = p.s), ''), true),
       pg_catalog.quote_ident(current_user)"""
    ).format(reals=reals if scratch else pgsql.SQL(""), pairs=pairs if scratch else pgsql.SQL("(NULL, NULL)"))
    statements = [first.as_string(None)]
    statements += [f"CREATE SCHEMA {name}" for name in scratch.values()]
    return statements


def _render(text: str, scratch: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: scratch[_real(m.group(1))], text)


def _explain_failure(
    conn: psycopg.Connection, ddl: ModelDDL, scratch: dict[str, str], error: psycopg.Error
) -> ConfigError:
    """Find which statement failed (one at a time this time: the error path may be slow) and say so."""
    failed_what, failed_error, user = "the models' DDL", error, conn.info.user
    with contextlib.suppress(psycopg.Error), conn.transaction(force_rollback=True):
        cur = conn.cursor(row_factory=tuple_row)
        steps = [(SETUP, text) for text in _setup_statements(scratch)]
        steps += [(statement.what, _render(statement.text, scratch)) for statement in ddl.statements]
        for i, (what, text) in enumerate(steps):
            try:
                cur.execute(text)
            except psycopg.Error as exc:
                failed_what, failed_error = what, exc
                break
            if i == 0:
                user = cur.fetchone()[2]  # type: ignore[index]
    message = _server_message(failed_error)
    if isinstance(failed_error, psycopg.errors.OutOfMemory) and "max_locks_per_transaction" in str(failed_error):
        from schemasync.db import lock_table

        table = lock_table(conn)
        return ConfigError(
            f"The models cannot be read: creating them ran out of lock table space at {failed_what} ({message}); "
            f"the server's lock table holds about {table.describe()}, shared by every session.",
            "Raise max_locks_per_transaction in postgresql.conf (a restart is needed), or wait for the sessions "
            "holding many locks to finish; nothing was changed in the database.",
        )
    if isinstance(failed_error, psycopg.errors.InsufficientPrivilege) and failed_what == SETUP:
        return ConfigError(
            f"schemasync could not create its scratch schema in database {conn.info.dbname!r}: {message}.",
            "Reading the models' schema needs CREATE on the database (everything is rolled back): "
            f"GRANT CREATE ON DATABASE {conn.info.dbname} TO {user}; or run as the database owner.",
        )
    if isinstance(failed_error, psycopg.errors.ReadOnlySqlTransaction):
        return ConfigError(
            f"The database {conn.info.dbname!r} is read-only, so the models cannot be materialised to read their schema: {message}.",
            "Point schemasync at the primary (not a standby), or unset default_transaction_read_only for this user.",
        )
    return ConfigError(
        f"The models cannot be created on PostgreSQL: {failed_what} fails with: {_unscratch(message, scratch)}.",
        "Fix that object in the models (names longer than 63 bytes are truncated by PostgreSQL and may "
        "collide; index operator classes must suit the column type); nothing was changed in the database.",
    )


def _server_message(error: psycopg.Error) -> str:
    diag = getattr(error, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag else None
    text = primary or first_line(error)
    detail = getattr(diag, "message_detail", None) if diag else None
    return f"{text} ({detail})" if detail else text


def _unscratch(text: str, scratch: dict[str, str]) -> str:
    for real, name in scratch.items():
        text = text.replace(name, real)
    return text


def map_schema_names(schema: Schema, names: dict[str, str], quoted: dict[str, str] | None = None) -> Schema:
    """The same value with schema names replaced (`names`: from -> to) wherever they appear.

    Name fields (a table's schema, a foreign key's target, ...) are replaced exactly; rendered SQL
    (types, defaults, expressions, index definitions) has the identifier replaced by `quoted[from]`
    (the target as `quote_ident` writes it). The `from` names must be plain lower-case identifiers,
    which PostgreSQL never quotes, and unusual enough never to occur otherwise: random scratch names.
    """
    quoted = quoted or {}
    pattern = re.compile(r"(?<![\w$\"])(" + "|".join(map(re.escape, names)) + r")(?![\w$])") if names else None

    def sub(value: str) -> str:
        return pattern.sub(lambda m: quoted.get(m.group(1), names[m.group(1)]), value) if pattern else value

    def text(value: str | None) -> str | None:
        return None if value is None else sub(value)

    def name(value: str) -> str:
        return names.get(value, value)

    def table(t: Table) -> Table:
        return replace(
            t,
            schema=name(t.schema),
            columns=tuple(
                replace(
                    c,
                    type=sub(c.type),
                    default=text(c.default),
                    generated=text(c.generated),
                    collation=text(c.collation),
                )
                for c in t.columns
            ),
            foreign_keys=tuple(replace(fk, ref_schema=name(fk.ref_schema)) for fk in t.foreign_keys),
            checks=tuple(replace(ck, expression=sub(ck.expression)) for ck in t.checks),
            indexes=tuple(
                replace(ix, keys=tuple(sub(k) for k in ix.keys), where=text(ix.where), definition=sub(ix.definition))
                for ix in t.indexes
            ),
        )

    return Schema(
        tables=tuple(table(t) for t in schema.tables),
        enums=tuple(replace(e, schema=name(e.schema)) for e in schema.enums),
        sequences=tuple(replace(s, schema=name(s.schema)) for s in schema.sequences),
        schemas=tuple(dict.fromkeys(n for n in (name(s) for s in schema.schemas) if n not in ALWAYS_PRESENT_SCHEMAS)),
        reported=tuple(replace(r, schema=name(r.schema)) for r in schema.reported),
        server_version=schema.server_version,
    ).sorted()


# -- cache ---------------------------------------------------------------------------------------


def _cache_key(conn: psycopg.Connection, ddl: ModelDDL) -> str:
    info = conn.info
    material = {
        "inspector": _inspector_fingerprint(),
        "server_version": info.server_version,
        "database": [info.host, info.port, info.dbname],
        "schemas": list(ddl.schemas),
        "ddl": ddl.digest(),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:40]


_fingerprint: str | None = None


def _inspector_fingerprint() -> str:
    """A hash of the code that shapes the value, so a new schemasync never reads an old cache entry."""
    global _fingerprint  # noqa: PLW0603
    if _fingerprint is None:
        digest = hashlib.sha256()
        package = resources.files("schemasync.schema")
        for name in ("model.py", "inspect.py", "target.py"):
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
