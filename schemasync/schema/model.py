"""The schema as a value: what `status` counts, `diff` compares, snapshots store and `compare` diffs.

Plain frozen dataclasses with tuples, so equality is structural and the diff can be driven by value
equality, the way migra does it. Every text field holds what PostgreSQL itself renders
(`format_type`, `pg_get_expr`, `pg_get_constraintdef`, `pg_get_indexdef`): both the live and the
desired side are inspected by the same inspector (the models are materialised first, see
`schema/target.py`), so equal schemas compare equal without a reconciling layer. The one exception
is expressions: PostgreSQL's printed form is not a fixed point (it changes when read back or when a
column changes type), so the diff compares them in a normal form (`diff/expressions.py`); the value
keeps the printed text, which is what the plans run.

Names are stored unquoted, exactly as in the catalog. Rendered SQL (types, defaults, expressions,
index definitions) is rendered with an empty search path, so every user-defined name in it is
schema-qualified and quoted where needed (`public.user_role`, `nextval('public.t_id_seq'::regclass)`). `Schema.to_json()` / `Schema.from_json()` give a
stable serialisation; `Schema.hash()` is a SHA-256 of it, used to refuse stale plans.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass, replace
from functools import cache
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

FK_ACTIONS = ("NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT")
FormatVersion = 1


@dataclass(frozen=True, slots=True)
class IdentityOptions:
    """An identity column's sequence options that differ from PostgreSQL's defaults for its type and direction.

    Defaults are stored as None (bounds, start) or their value (increment 1, cache 1, no cycle), so two
    identities declared alike compare equal however each side spelled the defaults.
    """

    start: int | None = None
    increment: int = 1
    min_value: int | None = None
    max_value: int | None = None
    cache: int = 1
    cycle: bool = False


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str  # format_type(): "character varying(255)", "integer", "public.user_role", "text[]"
    nullable: bool = True
    default: str | None = None  # pg_get_expr of the default; None for identity and generated columns
    identity: Literal["always", "by default"] | None = None
    generated: str | None = None  # expression of a STORED generated column
    collation: str | None = None  # only when not the type's default; ready for COLLATE: '"C"', 'public.nocase'
    comment: str | None = None
    identity_options: IdentityOptions | None = None  # None: no identity, or one with every default


@dataclass(frozen=True, slots=True)
class PrimaryKey:
    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UniqueConstraint:
    name: str
    columns: tuple[str, ...]
    deferrable: bool = False
    initially_deferred: bool = False
    nulls_not_distinct: bool = False


@dataclass(frozen=True, slots=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str = "NO ACTION"  # one of FK_ACTIONS
    on_update: str = "NO ACTION"
    match_full: bool = False
    deferrable: bool = False
    initially_deferred: bool = False
    validated: bool = True  # False while added NOT VALID and not yet validated


@dataclass(frozen=True, slots=True)
class CheckConstraint:
    name: str
    expression: str  # pg_get_constraintdef without the CHECK keyword: "((amount > 0))"
    validated: bool = True


@dataclass(frozen=True, slots=True)
class ExclusionConstraint:
    """An EXCLUDE constraint, kept as PostgreSQL renders it: the access method, the elements with their
    operators, INCLUDE, WITH, the predicate and DEFERRABLE are all in the one text, which the diff compares
    in normal form (`diff/tableprops.py`) and the plan re-runs as it is."""

    name: str
    definition: str  # pg_get_constraintdef: "EXCLUDE USING gist (room WITH =, during WITH &&)"


@dataclass(frozen=True, slots=True)
class Index:
    """A standalone index (indexes backing primary keys and unique constraints live with them)."""

    name: str
    unique: bool
    method: str  # btree, gin, gist, hash, brin, ...
    keys: tuple[str, ...]  # per key column or expression, as pg_get_indexdef renders it, with opclass and order
    include: tuple[str, ...] = ()
    where: str | None = None  # partial index predicate
    nulls_not_distinct: bool = False
    definition: str = ""  # pg_get_indexdef with schema-qualified names, for display and exact re-creation
    valid: bool = True  # False after a failed CREATE INDEX CONCURRENTLY: such an index must be rebuilt
    # Storage parameters (pg_class.reloptions, "fillfactor=70"), sorted: changed in place (ALTER INDEX ... SET),
    # so they are not part of the shape.
    options: tuple[str, ...] = ()

    def shape(self) -> tuple[object, ...]:
        """What makes two indexes the same index, whatever their name."""
        return (self.unique, self.method, self.keys, self.include, self.where, self.nulls_not_distinct)


@dataclass(frozen=True, slots=True)
class Partition:
    """A direct partition of a partitioned table and its bound, as `pg_get_expr(relpartbound)` renders it."""

    schema: str
    name: str
    bound: str  # "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')", "FOR VALUES IN (1, 2)", "DEFAULT"


@dataclass(frozen=True, slots=True)
class Table:
    schema: str
    name: str
    columns: tuple[Column, ...]
    primary_key: PrimaryKey | None = None
    uniques: tuple[UniqueConstraint, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    checks: tuple[CheckConstraint, ...] = ()
    indexes: tuple[Index, ...] = ()
    comment: str | None = None
    row_estimate: int = field(default=-1, compare=False, repr=False)  # pg_class.reltuples; -1 when never analysed
    size_bytes: int = field(default=0, compare=False, repr=False)  # pg_total_relation_size; facts, not schema
    # Partitions of a partitioned table (at every level, "schema.name"): part of this table, never tables of
    # their own. Their rows count in row_estimate and size_bytes.
    partitions: tuple[str, ...] = ()
    # Table properties (issue 17): EXCLUDE constraints, UNLOGGED, and storage parameters (pg_class.reloptions,
    # "fillfactor=70", sorted).
    exclusions: tuple[ExclusionConstraint, ...] = ()
    unlogged: bool = False
    options: tuple[str, ...] = ()
    # Partitioning (issue 17): the key of a partitioned table (pg_get_partkeydef, "RANGE (created_at)"; None for
    # a plain table) and its direct partitions with their bounds (`partitions` above lists every level by name).
    partition_by: str | None = None
    partition_bounds: tuple[Partition, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.schema, self.name)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True, slots=True)
class Enum:
    schema: str
    name: str
    labels: tuple[str, ...]
    comment: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.schema, self.name)


@dataclass(frozen=True, slots=True)
class Sequence:
    """A standalone sequence; sequences owned by serial or identity columns belong to their column."""

    schema: str
    name: str
    data_type: str = "bigint"
    start: int = 1
    increment: int = 1
    min_value: int | None = None  # None: the default for the type and direction (NO MINVALUE)
    max_value: int | None = None
    cycle: bool = False
    cache: int = 1
    owned_by: str | None = None  # "table.column" when owned by a column without being its default

    @property
    def key(self) -> tuple[str, str]:
        return (self.schema, self.name)


@dataclass(frozen=True, slots=True)
class View:
    """A view or materialized view, compared by what PostgreSQL prints of it.

    `definition` is `pg_get_viewdef` rendered with an empty search path (every relation and type
    schema-qualified, as pg_dump writes it), so the models' view, materialised in a scratch schema
    and mapped back, reads exactly like the live one. `columns` (name, type) decide whether a change
    can be `CREATE OR REPLACE VIEW` (columns only added at the end) or needs a drop and re-create.
    A materialized view's indexes are indexes on it, compared like a table's.
    """

    schema: str
    name: str
    materialized: bool
    definition: str
    columns: tuple[tuple[str, str], ...] = ()  # (name, format_type) in order
    options: tuple[str, ...] = ()  # reloptions: check_option=local, security_barrier=true, fillfactor=70 ...
    indexes: tuple[Index, ...] = ()  # materialized views only
    populated: bool = True  # a materialized view created WITH NO DATA (never refreshed) is not
    comment: str | None = field(default=None, compare=False)  # COMMENT ON ...: compared on its own (diff/comments.py)

    @property
    def key(self) -> tuple[str, str]:
        return (self.schema, self.name)

    @property
    def kind(self) -> str:
        return "materialized view" if self.materialized else "view"


@dataclass(frozen=True, slots=True)
class Dependency:
    """One edge of the catalog's dependency graph (`pg_depend`): `kind` `name` uses `ref_schema.ref_name`.

    Read from both sides so that a change to a column (its type, its removal) or to a view can drop
    and re-create, in the same transaction, the views, materialized views, policies and functions
    built on it (PostgreSQL refuses to change what a view uses). `ref_column` is None when the whole
    relation is used (a view over a view is recorded per column, a policy on its table per column).
    """

    kind: str  # "view", "materialized view", "policy", "function", "procedure", "trigger", "default", "check", "index"
    schema: str
    name: str  # the dependent (policy, trigger, check, index: its name; function: name(argument types); default: its column)
    table: str | None  # the table a policy, trigger, default, check or index is on
    ref_schema: str
    ref_name: str  # a table, view or materialized view; for ref_kind "function", name(argument types)
    ref_column: str | None = None
    # "relation" (the table or view, or `ref_column` of it); "row type" (a SQL-standard function body uses the
    # table's row type: no column of it may change type); "signature" (a string-bodied function's signature
    # names the row type, which PostgreSQL does not hold against changes); "function" (the function ref_name)
    ref_kind: str = "relation"


@dataclass(frozen=True, slots=True)
class Use:
    """One edge of what must exist before an object is created (`pg_depend`, `sql/uses.sql`): the `kind`
    ("table", "view", "routine" or "type") `schema.name` uses the `ref_kind` `ref_schema.ref_name`.

    A routine is named with its argument types (`arguments`, `Routine.arguments`); a relation's are "".
    A table uses the functions its defaults, checks, indexes and partition key call, a domain those its
    default and checks call; a view and a routine the relations, routines and types they read or call. `schema/uses.py` orders creations by these edges.
    """

    kind: str
    schema: str
    name: str
    arguments: str
    ref_kind: str
    ref_schema: str
    ref_name: str
    ref_arguments: str

    @property
    def node(self) -> tuple[str, str, str, str]:
        return (self.kind, self.schema, self.name, self.arguments)

    @property
    def ref(self) -> tuple[str, str, str, str]:
        return (self.ref_kind, self.ref_schema, self.ref_name, self.ref_arguments)


@dataclass(frozen=True, slots=True)
class Extension:
    """An installed extension. Database-wide: one of a name, whichever schema holds its objects.

    `version` is None on the models' side when they do not pin one (`CREATE EXTENSION citext` takes
    the server's default version, and a database holding another one is left at it); a pinned
    version (`VERSION '1.6'`) is kept, so a database at another one is updated to it.
    """

    name: str
    schema: str
    version: str | None = None
    # live side, facts rather than schema (never compared): what outside any extension uses its members, so
    # that PostgreSQL would refuse DROP EXTENSION. A prune that drops every user in the same plan frees it
    # (`diff/extensions.py`). `in_use`: a user of a kind not told apart below, which always keeps it.
    in_use: bool = field(default=False, compare=False)
    # the functions and procedures (schema, name, argument types) that use it
    used_by_routines: tuple[tuple[str, str, str], ...] = field(default=(), compare=False)
    # the tables, views and types that use it: (kind, schema, relation or type, column or index or ""), kind
    # "relation" (a view's query, a constraint), "column" (its type), "default" (a column's), "index" or "type"
    used_by: tuple[tuple[str, str, str, str], ...] = field(default=(), compare=False)

    @property
    def key(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Domain:
    """A domain: a base type with a default, NOT NULL and named checks (`checks` as a table's, over VALUE)."""

    schema: str
    name: str
    type: str  # format_type() of the base type: "integer", "character varying(40)", "public.mood"
    nullable: bool = True
    default: str | None = None  # pg_get_expr of the default
    collation: str | None = None  # only when not the base type's default; ready for COLLATE
    checks: tuple[CheckConstraint, ...] = ()
    comment: str | None = field(default=None, compare=False)  # COMMENT ON ...: compared on its own (diff/comments.py)

    @property
    def key(self) -> tuple[str, str]:
        return (self.schema, self.name)


@dataclass(frozen=True, slots=True)
class Attribute:
    """An attribute of a composite type."""

    name: str
    type: str  # format_type()
    collation: str | None = None  # only when not the type's default; ready for COLLATE


@dataclass(frozen=True, slots=True)
class CompositeType:
    """`CREATE TYPE name AS (...)`: attributes in their order."""

    schema: str
    name: str
    attributes: tuple[Attribute, ...] = ()
    comment: str | None = field(default=None, compare=False)  # COMMENT ON ...: compared on its own (diff/comments.py)

    @property
    def key(self) -> tuple[str, str]:
        return (self.schema, self.name)


@dataclass(frozen=True, slots=True)
class RangeType:
    """`CREATE TYPE name AS RANGE (SUBTYPE = ...)`, by what pg_range holds of it. PostgreSQL cannot alter a range
    type: a changed one is dropped and created, which only works while nothing uses it (`diff/ranges.py`)."""

    schema: str
    name: str
    subtype: str  # format_type(): "double precision", "public.mood"
    subtype_opclass: str | None = None  # only when not the subtype's default btree operator class; qualified
    collation: str | None = None  # only when not the subtype's default; ready for COLLATE
    canonical: str | None = None  # the canonical function (regproc), None without one
    subtype_diff: str | None = None  # the subtype difference function (regproc), None without one
    # the multirange type (regtype, qualified) when not the one PostgreSQL names by default; None otherwise
    multirange: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.schema, self.name)


@dataclass(frozen=True, slots=True)
class Reported:
    """An object we list but never create, alter or drop: functions, triggers, policies, extensions.

    Views and materialized views are managed (`View`); the two kinds stay in the type so snapshots
    stored before they were are still read."""

    kind: Literal["view", "materialized view", "function", "procedure", "trigger", "policy"]
    schema: str
    name: str
    table: str | None = None  # for triggers and policies
    definition_hash: str = ""  # lets compare/snapshots notice a changed body without storing it


@dataclass(frozen=True, slots=True)
class Routine:
    """A function or procedure, known by its signature: overloads are different routines.

    `definition` is `pg_get_functiondef` (a complete `CREATE OR REPLACE` statement, every name in its
    header schema-qualified): what the diff compares and what the plan runs. The body inside it is
    text PostgreSQL keeps verbatim, so it is never rewritten, only carried.
    """

    schema: str
    name: str
    arguments: str  # the input argument types ("integer, text"): with the name, what PostgreSQL tells routines by
    kind: Literal["function", "procedure"]
    result: str | None  # pg_get_function_result; None for a procedure
    parameters: str  # pg_get_function_arguments: names, modes and defaults, which CREATE OR REPLACE cannot change
    definition: str
    comment: str | None = field(default=None, compare=False)  # COMMENT ON ...: compared on its own (diff/comments.py)
    # live side: whether PUBLIC may execute it (every new routine's default, which `grants` leaves out as
    # implicit); a routine re-created without it gets it back, so the plan revokes it again
    public_execute: bool = field(default=True, compare=False)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.schema, self.name, self.arguments)


@dataclass(frozen=True, slots=True)
class Trigger:
    """A trigger on a table (not the internal ones PostgreSQL makes for foreign keys)."""

    schema: str
    table: str
    name: str
    definition: str  # pg_get_triggerdef: the CREATE TRIGGER statement, names schema-qualified
    enabled: str = "O"  # pg_trigger.tgenabled: O (origin), D (disabled), R (replica), A (always)
    comment: str | None = field(default=None, compare=False)  # COMMENT ON ...: compared on its own (diff/comments.py)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.schema, self.table, self.name)


@dataclass(frozen=True, slots=True)
class RowSecurity:
    """A table with row-level security enabled or forced (tables with neither are not listed)."""

    schema: str
    table: str
    enabled: bool  # pg_class.relrowsecurity: ENABLE ROW LEVEL SECURITY
    forced: bool  # pg_class.relforcerowsecurity: FORCE ROW LEVEL SECURITY (applies to the table's owner too)

    @property
    def key(self) -> tuple[str, str]:
        return (self.schema, self.table)


@dataclass(frozen=True, slots=True)
class Policy:
    """A row-level security policy on a table."""

    schema: str
    table: str
    name: str
    command: Literal["ALL", "SELECT", "INSERT", "UPDATE", "DELETE"]
    permissive: bool
    roles: tuple[str, ...]  # role names in sorted order; "public" for PUBLIC
    using: str | None  # pg_get_expr of USING, None without one
    check: str | None  # pg_get_expr of WITH CHECK, None without one
    comment: str | None = field(default=None, compare=False)  # COMMENT ON ...: compared on its own (diff/comments.py)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.schema, self.table, self.name)


@dataclass(frozen=True, slots=True)
class Grant:
    """One privilege held by a role other than the object's owner (the owner's own are implicit).

    A column privilege (`GRANT SELECT (a) ON t TO r`, pg_attribute.attacl) is one of the table's, with the
    column named: it is separate from the table-wide privilege of the same name (PostgreSQL keeps both, and
    revoking the table-wide one takes the column ones along, which the diff accounts for).
    """

    kind: Literal["table", "sequence", "schema", "function", "procedure"]  # views count as tables
    schema: str  # the object's schema (for a schema grant, the schema itself)
    name: str  # the object's name; "" for a schema grant
    arguments: str  # a routine's argument types ("integer, text"); "" otherwise
    grantee: str  # a role name, or "public" for PUBLIC
    privilege: str  # SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER, USAGE, CREATE, EXECUTE
    grantable: bool = False  # WITH GRANT OPTION
    # The column of a column privilege (kind "table"); "" for a privilege on the whole object. Last, with a
    # default, so snapshots stored before column privileges were read still load.
    column: str = ""

    @property
    def key(self) -> tuple[str, str, str, str, str, str, str]:
        return (self.kind, self.schema, self.name, self.arguments, self.grantee, self.privilege, self.column)

    @property
    def implicit(self) -> bool:
        """PUBLIC's privileges on the schema `public`: what every database is created with (USAGE, and
        CREATE before PostgreSQL 15), which the models' scratch copy of `public` never has. Not compared,
        like the owner's own privileges, so both sides leave them out."""
        return self.kind == "schema" and self.schema == "public" and self.grantee == "public"


@dataclass(frozen=True, slots=True)
class Owner:
    """Who owns an object (`pg_class.relowner`, `pg_proc.proowner`, ...): read on the live side for the opt-in
    `owner` setting (`diff/owners.py`). A fact, never compared as schema: the desired owner is the setting,
    not whatever role materialised the models."""

    kind: Literal["schema", "table", "view", "materialized view", "sequence", "type", "domain", "function", "procedure"]
    schema: str  # for a schema: the schema itself
    name: str  # "" for a schema
    arguments: str  # a routine's argument types; "" otherwise
    role: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.kind, self.schema, self.name, self.arguments)


@dataclass(frozen=True, slots=True)
class DefaultPrivilege:
    """One privilege the objects `role` creates later in `schema` get (`ALTER DEFAULT PRIVILEGES ... IN SCHEMA`,
    pg_default_acl), for a grantee other than `role`.

    `role` is "" for the role the look runs as: the models' `ALTER DEFAULT PRIVILEGES` without `FOR ROLE` is
    for whoever runs it, which is the dev database's user when the models are materialised and the target's
    when the plan runs, so both sides store that role as "" and the plan leaves `FOR ROLE` out for it.
    """

    role: str  # pg_default_acl.defaclrole; "" for the role the look runs as
    schema: str
    kind: Literal["tables", "sequences", "functions", "types"]
    grantee: str  # a role name, or "public" for PUBLIC
    privilege: str  # SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER, USAGE, EXECUTE
    grantable: bool = False

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.role, self.schema, self.kind, self.grantee, self.privilege)


@dataclass(frozen=True, slots=True)
class ModelError:
    """A declared object PostgreSQL refuses to create as declared, and so left out of the comparison.

    The models' side only. One bad object (an operator class that does not suit the column, an index
    declared twice under one name, a foreign key to a column without a unique key) must not hide every
    other difference, so the models are materialised object by object when the whole batch fails and
    each object the server refuses becomes one of these. Its live counterpart is kept as it is: it is
    neither created, changed nor dropped by the plan (`engine.hold_model_errors`).
    """

    kind: str  # "table", "index", "constraint", "sequence", "enum type", "comment", "custom DDL", ...
    schema: str
    name: str
    table: str | None  # the table an index, constraint or comment belongs to
    what: str  # "index ix_docs_title on table public.docs", as the messages name it
    reason: str  # the server's message, or which object it depends on

    def describe(self) -> str:
        return f"{self.what}: {self.reason}"


@dataclass(frozen=True, slots=True)
class DeclaredUnmanaged:
    """Something the models declare that schemasync neither creates nor compares yet.

    The models' side only: inheritance, a tablespace, `CreateTableAs` or the models' own DDL events other than
    the managed ones. Left out silently, such a declaration would let
    `check` say "in sync" about a database that lacks it; reported, it keeps `check` at exit 2.
    """

    kind: str  # "inheritance", "temporary table", "tablespace", "custom DDL", ...
    schema: str
    name: str  # the table (or the view, or the start of the DDL text)
    detail: str  # what exactly is declared, for the line in the report

    def describe(self) -> str:
        return f"{self.kind} on {self.schema}.{self.name}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Schema:
    """A database's schema (or the models' desired one): the unit everything else works on."""

    tables: tuple[Table, ...] = ()
    enums: tuple[Enum, ...] = ()
    sequences: tuple[Sequence, ...] = ()
    schemas: tuple[str, ...] = ()  # namespaces, beyond the ones PostgreSQL always has
    reported: tuple[Reported, ...] = ()
    # The models' side only, and not schema (neither compared nor hashed): what they declare that could not
    # be materialised (`ModelError`) or is not managed (`DeclaredUnmanaged`); both keep `check` from "in sync".
    model_errors: tuple[ModelError, ...] = field(default=(), compare=False, repr=False)
    unmanaged_declared: tuple[DeclaredUnmanaged, ...] = field(default=(), compare=False, repr=False)
    server_version: int = field(default=0, compare=False, repr=False)  # server_version_num, e.g. 160002
    # The models' side only: (schema, table, name) of every constraint and index whose name the models
    # declare (explicitly or by their naming convention). The others got a name nobody chose (PostgreSQL's
    # default, `t_pkey`), so the diff matches them by definition only. None: every name counts (the live
    # side, hand-built values, caches written before this field existed).
    declared_names: tuple[tuple[str, str, str], ...] | None = field(default=None, compare=False, repr=False)
    # The models' side only: what the models got wrong without it being an error (a name SQLAlchemy shortens,
    # an object declared twice identically), kept with the value so a look that recalls it from the cache
    # warns as the look that compiled the models did.
    warnings: tuple[str, ...] = field(default=(), compare=False, repr=False)
    # Views and materialized views (issue 17), managed like tables: created, replaced, dropped with prune.
    views: tuple[View, ...] = ()
    # The catalog's dependency graph (issue 17): what the plan must drop and re-create around a change to
    # what it depends on. A fact about the objects above, not schema of its own: neither compared nor hashed.
    dependencies: tuple[Dependency, ...] = field(default=(), compare=False, repr=False)
    # What each table, view and routine needs to exist before it is created (`Use`), for the creation order:
    # a fact like `dependencies`, neither compared nor hashed.
    uses: tuple[Use, ...] = field(default=(), compare=False, repr=False)
    # Extensions (issue 17): every installed one but plpgsql on the live side; on the models' side those
    # their DDL creates and those whose types, functions or operator classes they name.
    extensions: tuple[Extension, ...] = ()
    # Domains (issue 17): `CREATE DOMAIN`, SQLAlchemy's `postgresql.DOMAIN`.
    domains: tuple[Domain, ...] = ()
    # Composite types (issue 17): `CREATE TYPE name AS (...)`.
    composites: tuple[CompositeType, ...] = ()
    routines: tuple[Routine, ...] = ()  # functions and procedures (issue 17)
    triggers: tuple[Trigger, ...] = ()  # triggers on tables (issue 17)
    row_security: tuple[RowSecurity, ...] = ()  # tables with row-level security enabled or forced (issue 17)
    policies: tuple[Policy, ...] = ()  # row-level security policies (issue 17)
    grants: tuple[Grant, ...] = ()  # privileges on tables (and their columns), sequences, schemas and routines
    ranges: tuple[RangeType, ...] = ()  # range types (`CREATE TYPE name AS RANGE (...)`)
    # Default privileges in the models' schemas (`ALTER DEFAULT PRIVILEGES ... IN SCHEMA`), for the roles they name.
    default_privileges: tuple[DefaultPrivilege, ...] = ()
    # Owners of the objects the `owner` setting governs (issue 17): facts read live, compared only against that
    # setting (`diff/owners.py`), so neither compared nor hashed as schema.
    owners: tuple[Owner, ...] = field(default=(), compare=False, repr=False)

    def table(self, schema: str, name: str) -> Table | None:
        return next((t for t in self.tables if t.schema == schema and t.name == name), None)

    def enum(self, schema: str, name: str) -> Enum | None:
        return next((e for e in self.enums if e.schema == schema and e.name == name), None)

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"format": FormatVersion, **_plain(self)}

    def to_json(self, *, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True, separators=None if indent else (",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        data = {k: v for k, v in data.items() if k != "format"}
        return _build(cls, data)

    @classmethod
    def from_json(cls, text: str | bytes) -> Schema:
        return cls.from_dict(json.loads(text))

    def hash(self) -> str:
        """SHA-256 of the schema's comparable content: what a plan was made from, to refuse stale plans.

        Taken over the dataclasses' `repr`, which holds exactly the compared fields (the facts that are
        not schema, such as row estimates, are `repr=False` as well as `compare=False`): made of str,
        int, bool, None and tuples only, it is as canonical as JSON and four times quicker to produce.
        """
        return hashlib.sha256(repr(self).encode()).hexdigest()

    def sorted(self) -> Schema:
        """The same schema with every collection in a canonical order (catalog order is not stable)."""
        return Schema(
            tables=tuple(sorted((_sort_table(t) for t in self.tables), key=lambda t: t.key)),
            enums=tuple(sorted(self.enums, key=lambda e: e.key)),
            sequences=tuple(sorted(self.sequences, key=lambda s: s.key)),
            schemas=tuple(sorted(self.schemas)),
            reported=tuple(sorted(self.reported, key=lambda r: (r.kind, r.schema, r.table or "", r.name))),
            model_errors=tuple(sorted(set(self.model_errors), key=lambda e: (e.schema, e.table or "", e.what))),
            unmanaged_declared=tuple(
                sorted(set(self.unmanaged_declared), key=lambda u: (u.schema, u.name, u.kind, u.detail))
            ),
            server_version=self.server_version,
            declared_names=None if self.declared_names is None else tuple(sorted(self.declared_names)),
            warnings=self.warnings,
            views=tuple(
                sorted(
                    (replace(v, indexes=tuple(sorted(v.indexes, key=lambda i: i.name))) for v in self.views),
                    key=lambda v: v.key,
                )
            ),
            dependencies=tuple(
                sorted(set(self.dependencies), key=lambda d: tuple("" if x is None else x for x in _fields_of(d)))
            ),
            uses=tuple(sorted(set(self.uses), key=lambda u: (u.node, u.ref))),
            extensions=tuple(sorted(self.extensions, key=lambda x: x.name)),
            domains=tuple(
                sorted(
                    (replace(d, checks=tuple(sorted(d.checks, key=lambda k: k.name))) for d in self.domains),
                    key=lambda d: d.key,
                )
            ),
            composites=tuple(sorted(self.composites, key=lambda t: t.key)),
            routines=tuple(sorted(self.routines, key=lambda r: r.key)),
            triggers=tuple(sorted(self.triggers, key=lambda t: t.key)),
            row_security=tuple(sorted(self.row_security, key=lambda r: r.key)),
            policies=tuple(sorted(self.policies, key=lambda p: p.key)),
            grants=tuple(sorted(self.grants, key=lambda g: g.key)),
            owners=tuple(sorted(self.owners, key=lambda o: o.key)),
            default_privileges=tuple(sorted(self.default_privileges, key=lambda d: d.key)),
            ranges=tuple(sorted(self.ranges, key=lambda r: r.key)),
        )

    def view(self, schema: str, name: str) -> View | None:
        return next((v for v in self.views if v.schema == schema and v.name == name), None)


def _fields_of(dependency: Dependency) -> tuple[str | None, ...]:
    return (
        dependency.kind,
        dependency.schema,
        dependency.name,
        dependency.table,
        dependency.ref_schema,
        dependency.ref_name,
        dependency.ref_column,
    )


def _sort_table(t: Table) -> Table:
    # Columns keep their ordinal order: it is part of the table. Constraints and indexes are sets.
    by_name = lambda x: x.name  # noqa: E731
    return Table(
        schema=t.schema,
        name=t.name,
        columns=t.columns,
        primary_key=t.primary_key,
        uniques=tuple(sorted(t.uniques, key=by_name)),
        foreign_keys=tuple(sorted(t.foreign_keys, key=by_name)),
        checks=tuple(sorted(t.checks, key=by_name)),
        indexes=tuple(sorted(t.indexes, key=by_name)),
        comment=t.comment,
        row_estimate=t.row_estimate,
        size_bytes=t.size_bytes,
        partitions=t.partitions,
        exclusions=tuple(sorted(t.exclusions, key=by_name)),
        unlogged=t.unlogged,
        options=tuple(sorted(t.options)),
        partition_by=t.partition_by,
        partition_bounds=tuple(sorted(t.partition_bounds, key=lambda p: (p.schema, p.name))),
    )


# Serialisation is hand-rolled rather than `asdict` + `get_type_hints` per object: a 1,000-table
# schema has some 20,000 objects, and the generic route took seconds where this takes milliseconds.


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _plain(value: Any) -> Any:
    """The value as plain JSON data (what `asdict` gives)."""
    if hasattr(value, "__dataclass_fields__") and not isinstance(value, type):
        cls: type = type(value)  # as `type`: mypy finds a type[Any] argument not Hashable for @cache
        return {name: _plain(getattr(value, name)) for name in _field_names(cls)}
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


T = TypeVar("T")


def _build(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild a (nested) dataclass from `to_dict` output, turning lists back into tuples."""
    return _decoder(cls)(data)  # type: ignore[arg-type, no-any-return]


def _identity(value: Any) -> Any:
    return value


@cache
def _decoder(hint: Any) -> Callable[[Any], Any]:
    """A function turning JSON data back into a value of type `hint` (built once per type)."""
    origin = get_origin(hint)
    args = get_args(hint)
    if origin is tuple:
        inner = _decoder(args[0])
        if inner is _identity:
            return lambda v: None if v is None else tuple(v)
        return lambda v: None if v is None else tuple(inner(x) for x in v)
    if args and type(None) in args:  # Optional[X]
        rest = [a for a in args if a is not type(None)]
        return _decoder(rest[0]) if len(rest) == 1 else _identity
    if isinstance(hint, type) and is_dataclass(hint):
        hints = get_type_hints(hint)
        decoders = tuple((f.name, _decoder(hints[f.name])) for f in fields(hint))
        return lambda data: None if data is None else hint(**{n: d(data[n]) for n, d in decoders if n in data})
    return _identity


@dataclass(frozen=True, slots=True)
class RenameHints:
    """Declared renames (`info={"renamed_from": ...}` or `--rename`), so the diff keeps data.

    Not part of `Schema`: a hint says how to get from the old schema to the new one, which is not a
    property of either.
    """

    tables: tuple[tuple[str, str, str], ...] = ()  # (schema, new table name, old table name)
    columns: tuple[
        tuple[str, str, str, str], ...
    ] = ()  # (schema, table as named in the models, new column, old column)

    def old_table(self, schema: str, name: str) -> str | None:
        return next((old for s, new, old in self.tables if (s, new) == (schema, name)), None)

    def old_column(self, schema: str, table: str, column: str) -> str | None:
        return next((old for s, t, new, old in self.columns if (s, t, new) == (schema, table, column)), None)

    def merged(self, other: RenameHints) -> RenameHints:
        return RenameHints(
            tuple(dict.fromkeys(self.tables + other.tables)), tuple(dict.fromkeys(self.columns + other.columns))
        )
