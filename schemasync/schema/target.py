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

Declared but not managed (inheritance, tablespaces, views, the models' own DDL events other than a
plain `CREATE TABLE ... PARTITION OF ...`) is listed in
`Schema.unmanaged_declared`, so `check` never calls it in sync.

Known limits: a cached entry does not notice an extension installed or dropped in the same database
afterwards (change the models or delete the cache directory); objects the models create through
their own DDL events (a view, a function) are reported with a definition hash taken over the scratch
names, so it differs from the live one; such objects are reported, never managed. A DDL event can
still reach outside the transaction by its own means (`dblink`, `nextval` on a real sequence).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import logging
import os
import re
import threading
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
from schemasync.schema.declared import collapse_duplicates, declared_names
from schemasync.schema.inspect import ALWAYS_PRESENT_SCHEMAS, inspect
from schemasync.schema.loading import DEFAULT_SCHEMA, first_line, load_models, rename_hints
from schemasync.schema.model import DeclaredUnmanaged, ModelError, Schema, Table

if TYPE_CHECKING:
    from sqlalchemy import MetaData

    from schemasync.schema.devdb import DevChoice

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
    creates: tuple[str, str, str] = ("", "", "")  # (kind, schema, name) of the object, for model errors


@dataclass(frozen=True, slots=True)
class ModelDDL:
    statements: tuple[Statement, ...]
    schemas: tuple[str, ...]  # real schema names the models use, `public` for schema=None
    unmanaged: tuple[DeclaredUnmanaged, ...] = ()  # declared, but neither created nor compared by schemasync
    warnings: tuple[str, ...] = ()  # found while compiling; they end up in `Schema.warnings`

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

    warnings = list(identifiers.check(metadata))
    collected: list[tuple[Any, ...]] = []
    unmanaged: list[DeclaredUnmanaged] = []
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
        partition = partition_ddl(str(compiled)) if type(element).__name__ == "DDL" else None
        if created is not None or partition is not None:
            objects.add(created or partition)  # type: ignore[arg-type]
        collected.append(
            (what, str(compiled).strip(), type(element).__name__ not in _VERBATIM, *_owner(element), _creates(element))
        )
        if type(element).__name__ not in _MANAGED and partition is None:
            unmanaged.append(_unmanaged_element(element, what))

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

    statements = _without_duplicates(
        (
            Statement(what, _QUALIFIED.sub(placeholder, text) if rewrite else text, table, refs, custom, creates)
            for what, text, rewrite, table, refs, custom, creates in collected
        ),
        warnings,
    )
    names = {_real(m) for s in statements for m in _PLACEHOLDER.findall(s.text)}
    return ModelDDL(
        statements,
        tuple(sorted(names)),
        tuple(dict.fromkeys([*_unmanaged_options(metadata), *unmanaged])),
        tuple(warnings),
    )


def _without_duplicates(statements: Iterator[Statement], warnings: list[str]) -> tuple[Statement, ...]:
    """The statements with identical repeats dropped, each with a warning (added to `warnings`).

    The same index declared twice, identically (`index=True` on a column plus an `Index` of the same
    name and columns, or a mixin applied twice), is one index: PostgreSQL would refuse the second
    CREATE as "already exists", which says nothing about the database.
    """
    seen: set[str] = set()
    kept = []
    for statement in statements:
        if statement.text in seen:
            warnings.append(f"The models declare the {statement.what} twice, identically: it is created once")
            continue
        seen.add(statement.text)
        kept.append(statement)
    return tuple(kept)


# DDL elements whose result the inspector reads and the diff manages; any other one (the models' own
# `DDL` events, SQLAlchemy 2.1's CreateView and CreateTableAs, a domain) is run, so that what depends on
# it can be created, but reported as declared and unmanaged.
_MANAGED = {
    "CreateTable",
    "CreateIndex",
    "CreateSequence",
    "CreateEnumType",
    "AddConstraint",
    "SetTableComment",
    "SetColumnComment",
    "CreateSchema",
}
_UNMANAGED_KINDS = {
    "DDL": "custom DDL",
    "CreateView": "view",
    "CreateTableAs": "table created from a query",
    "CreateDomainType": "domain",
}


def _unmanaged_element(element: Any, what: str) -> DeclaredUnmanaged:
    kind = _UNMANAGED_KINDS.get(type(element).__name__, type(element).__name__)
    if kind == "custom DDL":
        text = " ".join(str(getattr(element, "statement", "")).split())
        target = getattr(element, "target", None)
        on = (getattr(target, "schema", None) or DEFAULT_SCHEMA, getattr(target, "name", None) or "(the metadata)")
        return DeclaredUnmanaged(kind, on[0], on[1], f"{text[:100]!r} (a DDL event: run, never compared)")
    target = getattr(element, "element", None)
    schema = getattr(target, "schema", None) or DEFAULT_SCHEMA
    return DeclaredUnmanaged(
        kind, schema, str(getattr(target, "name", what)), f"{what} is neither created nor compared"
    )


def _unmanaged_options(metadata: MetaData) -> list[DeclaredUnmanaged]:
    """Table and index options the models declare that the inspector does not read, so the diff cannot see.

    Each would otherwise vanish from the comparison: a database without the inheritance or the
    tablespace would be reported "in sync". EXCLUDE constraints, UNLOGGED, storage parameters
    (`postgresql_with`, on tables and indexes) and `postgresql_partition_by` are read and managed
    (`diff/tableprops.py`, `diff/partitions.py`).
    """
    table_options = {
        "inherits": "inheritance",
        "tablespace": "tablespace",
        "using": "table access method",
        "on_commit": "ON COMMIT action",
    }
    index_options = {"tablespace": "index tablespace"}
    found = []
    for table in metadata.tables.values():
        schema = table.schema or DEFAULT_SCHEMA
        if getattr(table, "_creator_ddl", None) is not None:
            continue  # a view or CREATE TABLE AS: reported from its DDL element
        options = table.dialect_options["postgresql"]
        for key, kind in table_options.items():
            value = options.get(key)
            if value:
                found.append(DeclaredUnmanaged(kind, schema, table.name, f"postgresql_{key}={value!r}"))
        for prefix in getattr(table, "_prefixes", ()):
            if str(prefix).strip().upper() in _MANAGED_PREFIXES:
                continue
            found.append(
                DeclaredUnmanaged(f"{str(prefix).lower()} table", schema, table.name, f"prefixes=[{prefix!r}]")
            )
        for index in table.indexes:
            for key, kind in index_options.items():
                value = index.dialect_options["postgresql"].get(key)
                if value:
                    found.append(
                        DeclaredUnmanaged(kind, schema, table.name, f"index {index.name}: postgresql_{key}={value!r}")
                    )
    return found


# Table prefixes whose effect the inspector reads (relpersistence).
_MANAGED_PREFIXES = frozenset({"UNLOGGED"})


def partition_ddl(text: str) -> tuple[str, str] | None:
    """(schema, name) of the partition a DDL event creates when it is exactly `CREATE TABLE name PARTITION OF
    parent FOR VALUES ...` (or `DEFAULT`): the one form whose whole effect the inspector reads (the partition
    and its bound). Anything more (its own columns or constraints, WITH, TABLESPACE, a PARTITION BY of its
    own, UNLOGGED) is not compared, so such an event stays custom DDL, unmanaged-declared."""
    from pglast import ast, parse_sql
    from pglast.parser import ParseError

    try:
        statements = parse_sql(_PLACEHOLDER.sub(lambda m: f'"{m.group(0)}"', text))
    except ParseError:
        return None
    stmt = statements[0].stmt if len(statements) == 1 else None
    if not isinstance(stmt, ast.CreateStmt) or stmt.relation is None:
        return None
    if not (
        stmt.partbound is not None
        and len(stmt.inhRelations or ()) == 1
        and not stmt.tableElts
        and stmt.partspec is None
        and not stmt.options
        and stmt.tablespacename is None
        and stmt.accessMethod is None
        and stmt.relation.relpersistence == "p"
    ):
        return None
    schema = stmt.relation.schemaname
    real = _PLACEHOLDER.fullmatch(schema) if schema else None
    return (_real(real.group(1)) if real else str(schema or DEFAULT_SCHEMA), str(stmt.relation.relname))


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


def _creates(element: Any) -> tuple[str, str, str]:
    """(kind, schema, name) of what a DDL element creates: how a model error is matched with the live side."""
    kind = type(element).__name__
    target = getattr(element, "element", None)
    names = {
        "CreateTable": "table",
        "CreateIndex": "index",
        "AddConstraint": "constraint",
        "CreateSequence": "sequence",
        "CreateEnumType": "enum type",
        "SetTableComment": "comment",
        "SetColumnComment": "comment",
    }
    if kind not in names or target is None:
        return ("custom DDL" if kind == "DDL" else kind, "", "")
    owner = getattr(target, "table", None) if kind in {"CreateIndex", "AddConstraint", "SetColumnComment"} else target
    name = getattr(target, "name", None)
    return (names[kind], getattr(owner, "schema", None) or DEFAULT_SCHEMA, name if isinstance(name, str) else "")


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
    None materialises in `conn`'s own scratch schemas. One thread at a time materialises a given key
    (a fleet checked in parallel shares one materialisation per dev database and server version)."""
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
            from schemasync.schema import devdb

            schema, cacheable = devdb.materialise(dev, conn, ddl)
        result, collapsed = collapse_duplicates(replace(schema, declared_names=declared_names(metadata)))
        result = replace(result, warnings=(*ddl.warnings, *collapsed))
        if cacheable:
            _cache_write(cache_dir, key, result)
    return result, key


_key_locks: dict[str, threading.Lock] = {}
_key_locks_guard = threading.Lock()


def _key_lock(key: str) -> threading.Lock:
    with _key_locks_guard:
        return _key_locks.setdefault(key, threading.Lock())


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
    """One rolled-back transaction: the whole batch at once, and object by object only when it fails.

    The models' text is input, so it is never sent where it could carry a second statement: every
    statement goes through the extended query protocol (psycopg's pipeline mode), whose Parse message
    PostgreSQL refuses when it holds more than one command, and a statement that is itself transaction
    control (`COMMIT`, `ROLLBACK`, `SAVEPOINT`, ...) is refused before it is sent, since ending the
    transaction would make everything after it permanent.
    """
    token = uuid.uuid4().hex[:12]
    scratch = {real: f"ss_scratch_{token}_{i}" for i, real in enumerate(ddl.schemas)}
    errors: list[ModelError] = []
    rendered: list[tuple[Statement, str]] = []
    for statement in ddl.statements:
        word = first_keyword(statement.text)
        if word in TRANSACTION_CONTROL:
            errors.append(_model_error(statement, f"{word} is transaction control, which the models' DDL may not run"))
        else:
            rendered.append((statement, _render(statement.text, scratch)))
    failure: psycopg.Error | None = None
    with conn.transaction(force_rollback=True):
        quoted = _setup(conn, scratch)
        try:
            _run(conn, [text for _, text in rendered])  # one round trip for all of it on the happy path
        except psycopg.Error as error:
            failure = error
        if failure is None:
            _still_inside(conn)
            inspected = inspect(conn, schemas=list(scratch.values()))
    if failure is not None:
        _refuse_fatal(conn, failure, "the models' DDL")
        inspected, quoted, more = _materialise_each(conn, rendered, scratch)
        errors += more
    back = {name: real for real, name in scratch.items()}
    result = map_schema_names(inspected, back, {name: quoted.get(real, real) for real, name in scratch.items()})
    if not errors and not ddl.unmanaged:
        return result
    return replace(result, model_errors=tuple(errors), unmanaged_declared=ddl.unmanaged).sorted()


def _materialise_each(
    conn: psycopg.Connection, rendered: list[tuple[Statement, str]], scratch: dict[str, str]
) -> tuple[Schema, dict[str, str], list[ModelError]]:
    """The slow path, after the batch failed: each statement in a savepoint, every failure kept.

    A statement the server refuses is rolled back to its savepoint and becomes a model error; what
    depends on a table that could not be created (its indexes, constraints and comments, tables whose
    foreign keys point at it) is left out with a model error naming that table, rather than failing
    with a message about a missing relation.
    """
    errors: list[ModelError] = []
    failed: set[tuple[str, str]] = set()
    with conn.transaction(force_rollback=True):
        quoted = _setup(conn, scratch)
        for statement, text in rendered:
            blocker = next((t for t in (statement.table, *statement.refs) if t in failed), None)
            if blocker is not None and (statement.creates[0] != "table" or blocker != statement.table):
                reason = f"left out: it depends on table {blocker[0]}.{blocker[1]}, which cannot be created"
                errors.append(_model_error(statement, reason))
            else:
                try:
                    with conn.transaction():  # a savepoint: the failure is undone, the rest goes on
                        _run(conn, [text])
                    continue
                except psycopg.Error as error:
                    _refuse_fatal(conn, error, statement.what)
                    errors.append(_model_error(statement, _reason(error, scratch)))
            if statement.creates[0] == "table" and statement.table is not None:
                failed.add(statement.table)
        _still_inside(conn)
        inspected = inspect(conn, schemas=list(scratch.values()))
    return inspected, quoted, errors


def _reason(error: psycopg.Error, scratch: dict[str, str]) -> str:
    message = _unscratch(_server_message(error), scratch)
    if isinstance(error, psycopg.errors.SyntaxError) and "multiple commands" in message:
        return f"{message}: text in the models (a default, a check, a DDL event) holds more than one SQL statement"
    return message


def _run(conn: psycopg.Connection, texts: list[str]) -> None:
    """Run model statements through the extended protocol: one command per statement, never more."""
    with conn.pipeline():
        cur = conn.cursor()
        for text in texts:
            cur.execute(text)


def _still_inside(conn: psycopg.Connection) -> None:
    """Belt and braces: the materialising transaction is still open (nothing the models ran ended it)."""
    if conn.info.transaction_status not in (psycopg.pq.TransactionStatus.INTRANS, psycopg.pq.TransactionStatus.INERROR):
        raise ConfigError(
            "The models' DDL ended the transaction schemasync materialises them in.",
            "Remove transaction control from the models' DDL events; check the database for objects they created.",
        )


# What ends, or steps out of, the materialising transaction (COMMIT PREPARED and ROLLBACK PREPARED start
# with COMMIT and ROLLBACK). Anything else that could commit (a procedure's COMMIT, VACUUM, CREATE DATABASE)
# is refused by the server itself inside a transaction block.
TRANSACTION_CONTROL = frozenset(
    {"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE", "PREPARE"}
)


def first_keyword(text: str) -> str:
    """The statement's first word in upper case, after white space and comments (block comments nest).

    With one command per statement (the extended protocol), that word says what kind of statement
    it is; a scanner rather than a regular expression, because PostgreSQL's block comments nest and a
    non-greedy pattern would stop at the inner `*/` of `/* /* */ */ COMMIT`.
    """
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        else:
            break
    match = re.match(r"[A-Za-z_]+", text[i:])
    return match.group(0).upper() if match else ""


def _model_error(statement: Statement, reason: str) -> ModelError:
    kind, schema, name = statement.creates
    table = statement.table[1] if statement.table is not None and kind != "table" else None
    return ModelError(kind, schema or DEFAULT_SCHEMA, name, table, statement.what, reason)


def _setup(conn: psycopg.Connection, scratch: dict[str, str]) -> dict[str, str]:
    """Search path and scratch schemas (our own text); each real schema name as `quote_ident` writes it."""
    first, *schemas = _setup_statements(scratch)
    cur = conn.cursor(row_factory=tuple_row)
    try:
        row = cur.execute(first).fetchone()
    except psycopg.Error as error:
        _refuse_fatal(conn, error, SETUP)
        raise _setup_error(conn, error, conn.info.user) from None
    assert row is not None
    try:
        for statement in schemas:
            cur.execute(statement)
    except psycopg.Error as error:
        _refuse_fatal(conn, error, SETUP)
        raise _setup_error(conn, error, row[2]) from None
    return dict(zip(scratch, row[0], strict=True))


def _setup_error(conn: psycopg.Connection, error: psycopg.Error, user: str) -> ConfigError:
    message = _server_message(error)
    if isinstance(error, psycopg.errors.InsufficientPrivilege):
        return ConfigError(
            f"schemasync could not create its scratch schema in database {conn.info.dbname!r}: {message}.",
            "Reading the models' schema needs CREATE on the database (everything is rolled back): "
            f"GRANT CREATE ON DATABASE {conn.info.dbname} TO {user}; or run as the database owner.",
        )
    return ConfigError(
        f"schemasync could not prepare its scratch schema in database {conn.info.dbname!r}: {message}.",
        "Nothing was changed in the database; check the connection's role and settings.",
    )


def _refuse_fatal(conn: psycopg.Connection, error: psycopg.Error, what: str) -> None:
    """Failures that say nothing about the models (the server's lock table, a read-only database): raised."""
    message = _server_message(error)
    if isinstance(error, psycopg.errors.OutOfMemory) and "max_locks_per_transaction" in str(error):
        from schemasync.db import lock_table

        table = lock_table(conn)
        raise ConfigError(
            f"The models cannot be read: creating them ran out of lock table space at {what} ({message}); "
            f"the server's lock table holds about {table.describe()}, shared by every session.",
            "Raise max_locks_per_transaction in postgresql.conf (a restart is needed), or wait for the sessions "
            "holding many locks to finish; nothing was changed in the database.",
        )
    if isinstance(error, psycopg.errors.ReadOnlySqlTransaction):
        raise ConfigError(
            f"The database {conn.info.dbname!r} is read-only, so the models cannot be materialised to read their schema: {message}.",
            "Point schemasync at the primary (not a standby), or unset default_transaction_read_only for this user.",
        )


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


def _qualified_name(qualified: str, names: dict[str, str]) -> str:
    """A "schema.name" string (as `Table.partitions` lists them) with its schema mapped."""
    schema, _, name = qualified.partition(".")
    return f"{names.get(schema, schema)}.{name}"


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
            exclusions=tuple(replace(x, definition=sub(x.definition)) for x in t.exclusions),
            partitions=tuple(_qualified_name(p, names) for p in t.partitions),
            partition_by=text(t.partition_by),
            partition_bounds=tuple(replace(p, schema=name(p.schema), bound=sub(p.bound)) for p in t.partition_bounds),
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
        for name in ("model.py", "inspect.py", "target.py", "declared.py", "devdb.py"):
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
