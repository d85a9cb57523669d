"""The models' DDL: what `metadata.create_all()` would run on PostgreSQL, statement by statement, with
schema placeholders (`compile_models`); the values `schema/target.py`, `schema/scratch.py` and
`schema/chunks.py` share."""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from schemasync import cycles
from schemasync.errors import ConfigError
from schemasync.schema import identifiers
from schemasync.schema.loading import DEFAULT_SCHEMA, first_line
from schemasync.schema.model import DeclaredUnmanaged

if TYPE_CHECKING:
    from sqlalchemy import MetaData


PLACEHOLDER = re.compile(r"__\[SCHEMA_([^\]]+)\]")  # SQLAlchemy's schema-translate placeholder
_NONE_SCHEMA = "_none"  # what SQLAlchemy writes in the placeholder for schema=None


# -- compiling the models' DDL -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DDLStatement:
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
    # False for what schemasync neither reads nor compares (custom DDL, CREATE TABLE AS): its text may do
    # anything, so it is only run in a database of its own (`scratch.materialise_in_target`)
    managed: bool = True


@dataclass(frozen=True, slots=True)
class ModelDDL:
    statements: tuple[DDLStatement, ...]
    schemas: tuple[str, ...]  # real schema names the models use, `public` for schema=None
    unmanaged: tuple[DeclaredUnmanaged, ...] = ()  # declared, but neither created nor compared by schemasync
    warnings: tuple[str, ...] = ()  # found while compiling; they end up in `Schema.warnings`
    roles: tuple[
        str, ...
    ] = ()  # roles the models' GRANTs and policies name: `schema/devdb.py` makes them in a dev cluster

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
    from sqlalchemy import create_mock_engine, exc  # lazy: start-up (SQLAlchemy; only with models)

    warnings = list(identifiers.check(metadata))
    collected: list[tuple[Any, ...]] = []
    unmanaged: list[DeclaredUnmanaged] = []
    objects: set[tuple[str, str]] = set()
    roles: dict[str, None] = {}

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
        text = str(compiled).strip()
        created = _created_object(element)
        owner, creates = _owner(element), _creates(element)
        managed = managed_ddl(text) if type(element).__name__ == "DDL" else None
        if managed is not None:
            text = managed.text
            roles.update(dict.fromkeys(managed.roles))
            if managed.implied is not None:
                objects.add(managed.implied)
            if managed.name is not None:
                created, what, creates = managed.name, managed.describe(), (managed.kind, *managed.name)
        if created is not None:
            objects.add(created)
        known = type(element).__name__ in _MANAGED or managed is not None
        collected.append((what, text, type(element).__name__ not in _VERBATIM, *owner, creates, known))
        if not known:
            unmanaged.append(_unmanaged_element(element, what))

    # paramstyle "named": with psycopg's default "pyformat", SQLAlchemy doubles every % in the DDL (defaults,
    # checks, comments) for a parameter pass that never happens here, and "100%" would be stored as "100%%".
    engine = create_mock_engine("postgresql+psycopg://", collect, paramstyle="named")  # type: ignore[arg-type]
    try:
        # paused: the mock dialect's per-column type memos sit in reference cycles; collected mid-compile they
        # would survive into the oldest generation, and the next full collection would cost ~130 ms at 1,000 tables
        with cycles.paused():
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
            DDLStatement(
                what, _QUALIFIED.sub(placeholder, text) if rewrite else text, table, refs, custom, creates, known
            )
            for what, text, rewrite, table, refs, custom, creates, known in collected
        ),
        warnings,
    )
    names = {real_schema_name(m) for s in statements for m in PLACEHOLDER.findall(s.text)}
    return ModelDDL(
        statements,
        tuple(sorted(names)),
        tuple(dict.fromkeys([*_unmanaged_options(metadata), *unmanaged])),
        tuple(warnings),
        tuple(roles),
    )


def _without_duplicates(statements: Iterator[DDLStatement], warnings: list[str]) -> tuple[DDLStatement, ...]:
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
# `DDL` events other than `_MANAGED_DDL`'s, SQLAlchemy 2.1's CreateTableAs) is run, so that what depends on
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
    "CreateView",  # views and materialized views (issue 17)
    "CreateDomainType",  # domains (issue 17)
}
# DDL events (and alembic_utils entities, `schema/entities.py`) whose one statement creates a kind the
# inspector reads, by its leading keywords: managed like the SQLAlchemy-native form (`managed_ddl`, the one
# place that says which DDL events are managed). Every other DDL event stays "custom DDL", reported as
# declared and unmanaged. A statement matches the longest key that starts it.
_MANAGED_DDL: dict[tuple[str, ...], str] = {
    ("CREATE", "VIEW"): "view",
    ("CREATE", "OR", "REPLACE", "VIEW"): "view",
    ("CREATE", "MATERIALIZED", "VIEW"): "materialized view",
    ("CREATE", "INDEX"): "index",
    ("CREATE", "UNIQUE", "INDEX"): "index",
    ("CREATE", "EXTENSION"): "extension",  # database-wide: the models' ones are picked by name (schema/extensions.py)
    ("CREATE", "DOMAIN"): "domain",
    ("CREATE", "FUNCTION"): "function",
    ("CREATE", "OR", "REPLACE", "FUNCTION"): "function",
    ("CREATE", "PROCEDURE"): "procedure",
    ("CREATE", "OR", "REPLACE", "PROCEDURE"): "procedure",
    ("CREATE", "TRIGGER"): "trigger",
    ("CREATE", "OR", "REPLACE", "TRIGGER"): "trigger",
    ("CREATE", "CONSTRAINT", "TRIGGER"): "trigger",  # deferrable; a trigger like any other (pg_get_triggerdef)
    ("CREATE", "POLICY"): "policy",
    # comments on the kinds above whose comment the inspector reads (`annotations.sql`), compared by
    # `diff/comments.py`; a table's, a column's and an enum's come with SQLAlchemy's own comment= or are read
    # with their rows as well
    ("COMMENT", "ON", "FUNCTION"): "function comment",
    ("COMMENT", "ON", "PROCEDURE"): "procedure comment",
    ("COMMENT", "ON", "ROUTINE"): "routine comment",
    ("COMMENT", "ON", "VIEW"): "view comment",
    ("COMMENT", "ON", "MATERIALIZED", "VIEW"): "materialized view comment",
    ("COMMENT", "ON", "TRIGGER"): "trigger comment",
    ("COMMENT", "ON", "POLICY"): "policy comment",
    ("COMMENT", "ON", "DOMAIN"): "domain comment",
    ("COMMENT", "ON", "TYPE"): "type comment",
}
# Comments on these name the object like its CREATE does, so an unqualified name gets the placeholder of
# `public` as the CREATE did (`managed_ddl`); the others (domains, types, triggers and policies by their table)
# are found through the search path, as their CREATE was.
_COMMENT_PLACED = frozenset({"function", "procedure", "routine", "view", "materialized view"})
_LONGEST_KEY = max(len(k) for k in _MANAGED_DDL)
# `ALTER TABLE [IF EXISTS] [ONLY] name ENABLE|FORCE ROW LEVEL SECURITY` and nothing else: any other ALTER TABLE
# (a column added, a constraint) is custom DDL.
_ROW_SECURITY = re.compile(
    r'ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(?:(?:[A-Za-z_][\w$]*|"(?:[^"]|"")+")\s*\.\s*)?'
    r'(?:[A-Za-z_][\w$]*|"(?:[^"]|"")+")\s+(?:ENABLE|FORCE)\s+ROW\s+LEVEL\s+SECURITY\s*;?\s*',
    re.IGNORECASE,
)
# `GRANT privileges ON [TABLE|SEQUENCE|SCHEMA|FUNCTION|PROCEDURE|ROUTINE] names TO roles [WITH GRANT OPTION]`
# on named objects, column privileges included (`GRANT SELECT (a, "B"), UPDATE (c) ON t TO r`). `ON ALL ... IN
# SCHEMA` is `_GRANT_ALL`'s; the object kinds the inspector does not read (databases, types, languages...) and
# role membership (`GRANT role TO role`) are not managed: custom DDL.
_GRANT = re.compile(
    r'GRANT\s+(?P<privileges>(?:[A-Za-z_,\s]|\((?:[^()"]|"(?:[^"]|"")*")*\))+?)(?:(?<=\))\s*|\s+)ON\s+'
    r"(?!(?:ALL|DATABASE|TABLESPACE|LANGUAGE|LARGE|FOREIGN|DOMAIN|TYPE|PARAMETER)\s)"
    r"(?:(?P<what>TABLE|SEQUENCE|SCHEMA|FUNCTION|PROCEDURE|ROUTINE)\s+)?(?P<names>.+?)\s+TO\s+"
    r"(?P<roles>.+?)(?:\s+WITH\s+GRANT\s+OPTION)?(?:\s+GRANTED\s+BY\s+\S+)?\s*;?\s*",
    re.IGNORECASE | re.DOTALL,
)
# `GRANT privileges ON ALL TABLES|SEQUENCES|FUNCTIONS|PROCEDURES|ROUTINES IN SCHEMA schemas TO roles`: its effect is
# one grant per object of the schema that exists when it runs, which the inspector reads off the materialised
# models like any other grant. Each schema gets its placeholder, so in the target's scratch schemas it acts on
# the models' copies only, never on the live objects beside them.
_GRANT_ALL = re.compile(
    r"GRANT\s+(?P<privileges>[A-Za-z_,\s]+?)\s+ON\s+ALL\s+(?:TABLES|SEQUENCES|FUNCTIONS|PROCEDURES|ROUTINES)\s+"
    r"IN\s+SCHEMA\s+(?P<names>.+?)\s+TO\s+"
    r"(?P<roles>.+?)(?:\s+WITH\s+GRANT\s+OPTION)?(?:\s+GRANTED\s+BY\s+\S+)?\s*;?\s*",
    re.IGNORECASE | re.DOTALL,
)
# `ALTER DEFAULT PRIVILEGES [FOR ROLE roles] IN SCHEMA schemas GRANT privileges ON TABLES|SEQUENCES|FUNCTIONS|
# ROUTINES|TYPES TO roles [WITH GRANT OPTION]` (pg_default_acl, per schema): each schema gets its placeholder, like
# `_GRANT_ALL`'s. Without IN SCHEMA the defaults are the whole database's, which a look at the models
# materialised in the target could not tell from the target's own: custom DDL (`_BEYOND_THE_DATABASE` says why).
_DEFAULT_PRIVILEGES = re.compile(
    r"ALTER\s+DEFAULT\s+PRIVILEGES\s+(?:FOR\s+(?:ROLE|USER)\s+(?P<owners>.+?)\s+)?IN\s+SCHEMA\s+(?P<names>.+?)\s+"
    r"GRANT\s+(?P<privileges>[A-Za-z_,\s]+?)\s+ON\s+(?:TABLES|SEQUENCES|FUNCTIONS|ROUTINES|TYPES)\s+TO\s+"
    r"(?P<roles>.+?)(?:\s+WITH\s+GRANT\s+OPTION)?\s*;?\s*",
    re.IGNORECASE | re.DOTALL,
)
# Role specifications that are not a role's name.
_NOT_ROLES = frozenset({"public", "current_user", "current_role", "session_user"})
_TYPE_HEAD = r'CREATE\s+TYPE\s+(?:(?:[A-Za-z_][\w$]*|"(?:[^"]|"")+")\s*\.\s*)?(?:[A-Za-z_][\w$]*|"(?:[^"]|"")+")\s+AS'
# `CREATE TYPE name AS (`: a composite type (base types stay custom DDL).
_COMPOSITE = re.compile(_TYPE_HEAD + r"\s*\(", re.IGNORECASE)
# `CREATE TYPE name AS ENUM (` (managed like SQLAlchemy's own enums) and `AS RANGE (` (pg_range).
_ENUM_OR_RANGE = re.compile(_TYPE_HEAD + r"\s+(?P<kind>ENUM|RANGE)\s*\(", re.IGNORECASE)
_UNMANAGED_KINDS = {
    "DDL": "custom DDL",
    "CreateTableAs": "table created from a query",
}


def _why_unmanaged(text: str) -> str:
    """What the report says of a custom DDL event: why it is not managed when it is not on purpose, else that
    it is run (when the models are materialised) and never compared."""
    start = code_start(text)
    for pattern, reason in _BEYOND_THE_DATABASE:
        if pattern.match(text, start):
            return f"{text[:100]!r} ({reason}; a DDL event: run, never compared)"
    return f"{text[:100]!r} (a DDL event: run, never compared)"


def _unmanaged_element(element: Any, what: str) -> DeclaredUnmanaged:
    kind = _UNMANAGED_KINDS.get(type(element).__name__, type(element).__name__)
    if kind == "custom DDL":
        text = " ".join(str(getattr(element, "statement", "")).split())
        target = getattr(element, "target", None)
        on = (getattr(target, "schema", None) or DEFAULT_SCHEMA, getattr(target, "name", None) or "(the metadata)")
        return DeclaredUnmanaged(kind, on[0], on[1], _why_unmanaged(text))
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


def partition_ddl(text: str) -> ManagedDDL | None:
    """The partition a DDL event creates when it is exactly `CREATE TABLE name PARTITION OF
    parent FOR VALUES ...` (or `DEFAULT`): the one form whose whole effect the inspector reads (the partition
    and its bound). Anything more (its own columns or constraints, WITH, TABLESPACE, a PARTITION BY of its
    own, UNLOGGED) is not compared, so such an event stays custom DDL, unmanaged-declared."""
    from pglast import ast  # lazy: start-up (pglast; only DDL that needs parsing)

    stmt = parse_one(text)
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
    schema = placeholder_schema(stmt.relation.schemaname)
    name = (schema or str(stmt.relation.schemaname or DEFAULT_SCHEMA), str(stmt.relation.relname))
    return ManagedDDL("partition", text, name)


def parse_one(text: str) -> Any | None:
    """The one statement of the models' DDL `text` as PostgreSQL's own parser reads it (pglast), or None
    when it does not parse or holds more than one statement.

    Schema placeholders are kept as quoted names (`"__[SCHEMA_app]"`), so a name that points at an object
    the models create stays distinguishable from one that points at a live object (`placeholder_schema`).
    """
    from pglast import parse_sql  # lazy: start-up (pglast; only DDL that needs parsing)
    from pglast.parser import ParseError  # lazy: start-up (pglast; only DDL that needs parsing)

    try:
        statements = parse_sql(PLACEHOLDER.sub(lambda m: '"' + m.group(0).replace('"', '""') + '"', text))
    except ParseError:
        return None
    return statements[0].stmt if len(statements) == 1 else None


def placeholder_schema(schema: str | None) -> str | None:
    """The real schema a parsed schema name stands for when it is a placeholder (`parse_one`), else None."""
    real = PLACEHOLDER.fullmatch(schema) if schema else None
    return real_schema_name(real.group(1)) if real else None


# Statements whose text is data, not references: enum labels and comments are kept verbatim.
_VERBATIM = {"CreateEnumType", "SetTableComment", "SetColumnComment", "DropTableComment", "DropColumnComment"}
_IDENT = r'(?:[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*|"(?:[^"]|"")+")'
_QUALIFIED = re.compile(rf'(?<![\w$".\]])(?P<schema>{_IDENT})(?P<dot>\s*\.\s*)(?P<name>{_IDENT})(?![\w$"])')

# Custom DDL that is custom on purpose: what it declares lives beyond the database the models describe, or needs a
# superuser, so no look could compare it and no plan could be allowed to run it. Its report says so.
_BEYOND_THE_DATABASE = (
    (
        re.compile(
            rf"(?:GRANT|REVOKE)\s+(?:ADMIN\s+OPTION\s+FOR\s+)?{_IDENT}(?:\s*,\s*{_IDENT})*\s+(?:TO|FROM)\s", re.I
        ),
        "role membership: roles and their memberships belong to the whole cluster, not to one database, and "
        "granting them needs CREATEROLE or a superuser, so schemasync does not manage them; grant it once by hand",
    ),
    (
        re.compile(r"(?:CREATE|ALTER|DROP)\s+(?:ROLE|USER|GROUP)\s", re.I),
        "roles belong to the whole cluster, not to one database, and need CREATEROLE, so schemasync does not "
        "manage them; create it once by hand",
    ),
    (
        re.compile(
            r"ALTER\s+DEFAULT\s+PRIVILEGES\s+(?:FOR\s+(?:ROLE|USER)\s+(?:(?!\bIN\s+SCHEMA\b).)+?\s+)?"
            r"(?:GRANT|REVOKE)\s",
            re.I | re.S,
        ),
        "default privileges for every schema of the database: database-wide, so they could not be told from the "
        "target's own while the models are materialised in it, and schemasync does not manage them; add "
        "IN SCHEMA to have them managed",
    ),
    (
        re.compile(r"(?:CREATE|ALTER|DROP)\s+EVENT\s+TRIGGER\s", re.I),
        "an event trigger: database-wide, fired by any DDL (schemasync's own included), and only a superuser may "
        "create one, so schemasync does not manage it; create it once by hand",
    ),
)


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
        "CreateView",
    }:
        return None
    if kind == "CreateView":
        target = getattr(element, "table", None)
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
        "CreateDomainType": "domain",
        "SetTableComment": "comment",
        "SetColumnComment": "comment",
    }
    if kind == "CreateView" and target is not None:
        materialized = getattr(element, "materialized", False)
        name = getattr(target, "name", None)
        return ("materialized view" if materialized else "view", target.schema or DEFAULT_SCHEMA, str(name))
    if kind not in names or target is None:
        return ("custom DDL" if kind == "DDL" else kind, "", "")
    owner = getattr(target, "table", None) if kind in {"CreateIndex", "AddConstraint", "SetColumnComment"} else target
    name = getattr(target, "name", None)
    return (names[kind], getattr(owner, "schema", None) or DEFAULT_SCHEMA, name if isinstance(name, str) else "")


def _owner(element: Any) -> tuple[tuple[str, str] | None, tuple[tuple[str, str], ...], bool]:
    """(table the statement belongs to, tables its foreign keys reference, whether it is custom DDL)."""
    kind = type(element).__name__
    if kind in {"DDL", "CreateView"}:  # the text may name any table: never split across groups (chunks.py)
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
    from sqlalchemy import Sequence as SASequence  # lazy: start-up (SQLAlchemy; only with models)
    from sqlalchemy.types import SchemaType  # lazy: start-up (SQLAlchemy; only with models)

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
    if kind == "CreateView" and target is not None and getattr(element, "materialized", False):
        return f"materialized view {_qualified(target)}"
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


def real_schema_name(placeholder_name: str) -> str:
    return DEFAULT_SCHEMA if placeholder_name == _NONE_SCHEMA else placeholder_name


# -- which DDL events are managed ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ManagedDDL:
    """A DDL event whose statement creates a kind the inspector reads, so its object is compared, not
    reported as custom DDL.

    `text` is the statement to run: an unqualified view, function or procedure name is given the
    placeholder of `public` (`schema=None`), so the object is created in the scratch schema whatever the
    search path, never beside the live objects. `name` is the (schema, name) the placeholder pass rewrites
    wherever the models' text names it qualified (a trigger's `EXECUTE FUNCTION public.touch()`), and what
    a model error names; None for the kinds created where the search path puts them (the scratch schema
    first) and matched by the inspector (extensions, unqualified domains, composite, enum and range types,
    triggers, policies, row-level security, which are named by their table, grants and default privileges,
    whose schemas have their placeholders). A qualified domain or composite, enum or range type
    (`app.positive`) has its `name`, so it lands in the scratch schema standing for `app`. An index is
    placed by its table, so its text is kept as written and its `name` is the table's.
    """

    kind: str
    text: str
    name: tuple[str, str] | None = None
    roles: tuple[str, ...] = ()  # the roles a GRANT or a policy names (PUBLIC aside): they must exist where it runs
    # an unqualified domain or composite type: (`public`, name), so that the models' text naming it qualified
    # (a routine's argument `public.email`, as pg_get_functiondef prints it) points at the models' type too
    implied: tuple[str, str] | None = None

    def describe(self) -> str:
        return self.kind if self.name is None else f"{self.kind} {self.name[0]}.{self.name[1]}"


def _leading(text: str, count: int) -> list[tuple[str, int]]:
    """The statement's first `count` words in upper case, each with the offset just past it (white space and
    comments between them skipped, see `code_start`)."""
    words: list[tuple[str, int]] = []
    i = 0
    while len(words) < count:
        i = code_start(text, i)
        match = _WORD.match(text, i)
        if match is None:
            break
        i = match.end()
        words.append((match.group(0).upper(), i))
    return words


_WORD = re.compile(r"[A-Za-z_]+")
_CREATED_NAME = re.compile(
    rf"\s*(?:IF\s+NOT\s+EXISTS\s+)?(?P<schema>{_IDENT}\s*\.\s*)?(?P<name>{_IDENT})", re.IGNORECASE
)


def managed_ddl(text: str) -> ManagedDDL | None:
    """What a DDL event's statement creates when it is a kind the inspector reads, else None (custom DDL).

    Only the statement's head is read (its leading keywords and the name after them); a function's body,
    which PostgreSQL stores verbatim, is never looked at here.
    """
    words = _leading(text, _LONGEST_KEY)
    matched = [
        (_MANAGED_DDL[keys], words[len(keys) - 1][1])
        for n in range(len(words), 0, -1)
        if (keys := tuple(w for w, _ in words[:n])) in _MANAGED_DDL
    ]
    if not matched:
        if _COMPOSITE.match(text, code_start(text)):
            return _type_ddl("composite type", text, _leading(text, 2)[1][1])
        typed = _ENUM_OR_RANGE.match(text, code_start(text))
        if typed is not None:
            return _type_ddl(f"{typed.group('kind').lower()} type", text, _leading(text, 2)[1][1])
        if _ROW_SECURITY.fullmatch(text, code_start(text)):
            return ManagedDDL("row security", text)
        grant = _GRANT.fullmatch(text, code_start(text))
        if grant is not None:
            return _grant(text, grant)
        grant = _GRANT_ALL.fullmatch(text, code_start(text))
        if grant is not None:
            return _grant(text, grant, in_schema=True)
        defaults = _DEFAULT_PRIVILEGES.fullmatch(text, code_start(text))
        if defaults is not None:
            return _default_privileges(text, defaults)
        return partition_ddl(text)
    kind, after = matched[0]
    if kind.endswith(" comment"):
        return _comment(kind.removesuffix(" comment"), text, after)
    if kind == "policy":
        return ManagedDDL(kind, text, roles=_policy_roles(text))
    if kind in ("extension", "trigger"):
        return ManagedDDL(kind, text)
    if kind == "domain":
        return _type_ddl(kind, text, after)
    if kind == "index":
        match = re.search(rf"\bON\s+(?:ONLY\s+)?(?P<schema>{_IDENT}\s*\.\s*)?(?P<name>{_IDENT})", text, re.IGNORECASE)
        if match is None:
            return None
        schema = _unquote(match.group("schema").rstrip(" .\t\n")) if match.group("schema") else DEFAULT_SCHEMA
        return ManagedDDL(kind, text, (schema, _unquote(match.group("name"))))
    match = _CREATED_NAME.match(text, code_start(text, after))
    if match is None:
        return None
    name = _unquote(match.group("name"))
    if match.group("schema"):
        return ManagedDDL(kind, text, (_unquote(match.group("schema").rstrip(" .\t\n")), name))
    start = match.start("name")
    return ManagedDDL(kind, f"{text[:start]}__[SCHEMA_{_NONE_SCHEMA}].{text[start:]}", (DEFAULT_SCHEMA, name))


def _comment(on: str, text: str, after: int) -> ManagedDDL | None:
    """`COMMENT ON <kind> name ... IS ...` on a kind whose comment is compared: run against the models' own
    object in the scratch schema (a qualified name is rewritten by the placeholder pass when the models
    create that object), never named as an object of its own (it creates nothing)."""
    if on not in _COMMENT_PLACED:
        return ManagedDDL("comment", text)
    match = _CREATED_NAME.match(text, code_start(text, after))
    if match is None:
        return None
    if match.group("schema"):
        return ManagedDDL("comment", text)
    start = match.start("name")
    return ManagedDDL("comment", f"{text[:start]}__[SCHEMA_{_NONE_SCHEMA}].{text[start:]}")


def _type_ddl(kind: str, text: str, after: int) -> ManagedDDL:
    """A domain or composite type: a qualified name is the (schema, name) the placeholder pass rewrites, in
    this statement and wherever the models name it (a column typed `app.positive`), so it is created in the
    scratch schema standing for `app`, not beside (or on top of) the live type. An unqualified one is created
    where the search path puts it (the scratch schema first) and named by the inspector."""
    match = _CREATED_NAME.match(text, code_start(text, after))
    if match is None:
        return ManagedDDL(kind, text)
    if not match.group("schema"):
        return ManagedDDL(kind, text, implied=(DEFAULT_SCHEMA, _unquote(match.group("name"))))
    return ManagedDDL(kind, text, (_unquote(match.group("schema").rstrip(" .\t\n")), _unquote(match.group("name"))))


def _grant(text: str, grant: re.Match[str], *, in_schema: bool = False) -> ManagedDDL | None:
    """A GRANT on named objects, or on all objects of a kind `in_schema`; on a schema, or in one, each schema
    name gets its placeholder, so the grant lands on the scratch schema the models are created in (a schema
    is not one of the models' objects, so the placeholder pass would leave it alone)."""
    roles = _identifiers(grant.group("roles"))
    if roles is None:
        return None
    named = tuple(dict.fromkeys(_unquote(r) for r in roles if r.lower() not in _NOT_ROLES))
    if not in_schema and (grant.group("what") or "").upper() != "SCHEMA":
        return ManagedDDL("grant", text, roles=named)
    names = _identifiers(grant.group("names"))
    if names is None:
        return None
    start, end = grant.span("names")
    placed = ", ".join(f"__[SCHEMA_{_unquote(n)}]" for n in names)
    return ManagedDDL("grant", f"{text[:start]}{placed}{text[end:]}", roles=named)


def _default_privileges(text: str, match: re.Match[str]) -> ManagedDDL | None:
    """`ALTER DEFAULT PRIVILEGES ... IN SCHEMA ... GRANT`: its schemas by their placeholders (so in the target's
    scratch schemas it writes the defaults of the models' copies only); the roles it names, the creators
    (`FOR ROLE`) and the grantees, must exist where it runs."""
    grant = _grant(text, match, in_schema=True)
    owners = _identifiers(match.group("owners")) if match.group("owners") else []
    if grant is None or owners is None:
        return None
    creators = [_unquote(r) for r in owners if r.lower() not in _NOT_ROLES]
    return ManagedDDL("default privileges", grant.text, roles=tuple(dict.fromkeys([*creators, *grant.roles])))


def _policy_roles(text: str) -> tuple[str, ...]:
    """The roles a `CREATE POLICY ... TO roles` names (PUBLIC and the like aside), read before its USING and
    WITH CHECK expressions; () when it names none or the list is not a plain one."""
    clause = _POLICY_EXPRESSIONS.search(text)
    head = text if clause is None else text[: clause.start()]
    found = _POLICY_TO.search(head)
    roles = _identifiers(found.group("roles")) if found else None
    return tuple(dict.fromkeys(_unquote(r) for r in roles or () if r.lower() not in _NOT_ROLES))


_POLICY_EXPRESSIONS = re.compile(r"\b(?:USING|WITH\s+CHECK)\s*\(", re.IGNORECASE)
_POLICY_TO = re.compile(r"\sTO\s+(?P<roles>.+?)\s*;?\s*\Z", re.IGNORECASE | re.DOTALL)


def _identifiers(text: str) -> list[str] | None:
    """The identifiers of a comma-separated list as written (`a, "B, c"`), or None if it is anything else."""
    out: list[str] = []
    i = 0
    while True:
        match = _IDENT_RE.match(text, code_start(text, i))
        if match is None:
            return None
        out.append(match.group(0))
        i = code_start(text, match.end())
        if i == len(text):
            return out
        if text[i] != ",":
            return None
        i += 1


_IDENT_RE = re.compile(_IDENT)


def first_keyword(text: str) -> str:
    """The statement's first word in upper case, after white space and comments (block comments nest).

    With one command per statement (the extended protocol), that word says what kind of statement
    it is; a scanner rather than a regular expression, because PostgreSQL's block comments nest and a
    non-greedy pattern would stop at the inner `*/` of `/* /* */ */ COMMIT`.
    """
    match = re.match(r"[A-Za-z_]+", text[code_start(text) :])
    return match.group(0).upper() if match else ""


def code_start(text: str, i: int = 0) -> int:
    """Where the statement's code starts (from offset `i`): past white space, line comments and (nested) block
    comments."""
    n = len(text)
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
    return i
