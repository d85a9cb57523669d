"""Live database -> `Schema`, with a fixed number of catalog queries whatever the number of tables.

One query per object kind (namespaces, tables, columns, constraints, indexes, enums, sequences, the
objects we only report, views, extensions, domains, composite types, exclusion constraints, table options,
partitions, routines, triggers, row security, policies, grants, default privileges, range types; and one for
the comments of the kinds that read none and every object's owner), each a `.sql` file in `schema/sql/`, plus
one statement that sets the session up: the same number
of round trips for 5 tables or 5,000. That is migra/schemainspect's shape, and what makes a
1,000-table check take milliseconds where Alembic's reflection takes one round trip per table.

Every text field is what PostgreSQL renders (`format_type`, `pg_get_expr`, `pg_get_constraintdef`,
`pg_get_indexdef`), rendered with `search_path` set to `''` (as pg_dump does): every user-defined name
comes out schema-qualified (`public.user_role`, `nextval('public.users_id_seq'::regclass)`), so the
value does not depend on the caller's search path, and `schema/target.py` can map its scratch
schemas back to the real names with a plain identifier substitution.

The queries run in one REPEATABLE READ, READ ONLY transaction (a savepoint when the caller already
has a transaction open) that is always rolled back, so `SET LOCAL` never leaks into the caller's
session. Left out: system, toast and temporary schemas, and every object an extension owns
(`pg_depend.deptype = 'e'`), so installing an extension never shows up as drift beyond the
extension itself (read database-wide, with its version).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from importlib import resources
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import tuple_row

from schemasync import cycles
from schemasync.schema.model import (
    Attribute,
    CheckConstraint,
    Column,
    CompositeType,
    DefaultPrivilege,
    Dependency,
    Domain,
    Enum,
    ExclusionConstraint,
    Extension,
    ForeignKey,
    Grant,
    IdentityOptions,
    Index,
    Owner,
    Partition,
    Policy,
    PrimaryKey,
    RangeType,
    Reported,
    Routine,
    RowSecurity,
    Schema,
    Table,
    Trigger,
    UniqueConstraint,
    Use,
    View,
)
from schemasync.schema.model import Sequence as SequenceValue

QUERIES = (
    "namespaces",
    "tables",
    "columns",
    "constraints",
    "indexes",
    "enums",
    "sequences",
    "reported",
    "views",  # issue 17: views and materialized views (their indexes come with the tables'), the dependency graph
    "dependencies",
    "uses",
    "extensions",
    "domains",
    "composites",
    "exclusions",
    "table_options",
    "partitions",
    "routines",
    "triggers",
    "row_security",
    "policies",
    "grants",
    "annotations",  # comments of the kinds above that read none, and owners (for the `owner` setting)
    "default_privileges",
    "ranges",
)
ALWAYS_PRESENT_SCHEMAS = frozenset({"public"})  # `Schema.schemas` lists the namespaces beyond these

_FK_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
_IDENTITY = {"a": "always", "d": "by default"}
_INT_RANGES = {
    "smallint": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}

# A range's multirange type, only when not the one PostgreSQL names by default (`floatrange` -> `floatmultirange`,
# `period` -> `period_multirange`, in the range's schema): a scratch copy's own default is then never named.
_MULTIRANGE = (
    "(SELECT CASE WHEN mt.typnamespace = t.typnamespace AND mt.typname::text = "
    "CASE WHEN pg_catalog.strpos(t.typname, 'range') > 0 THEN "
    "pg_catalog.left(t.typname::text, pg_catalog.strpos(t.typname, 'range') - 1) || 'multi' || "
    "pg_catalog.substr(t.typname::text, pg_catalog.strpos(t.typname, 'range')) "
    "ELSE t.typname::text || '_multirange' END "
    "THEN NULL ELSE mt.oid::pg_catalog.regtype::text END "
    "FROM pg_catalog.pg_type mt WHERE mt.oid = r.rngmultitypid)"
)


@functools.cache
def catalog_query(name: str, server_version: int) -> str:
    """The text of `sql/<name>.sql`, adapted to the server's catalog (columns added in later versions)."""
    text = resources.files("schemasync.schema").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")
    if name == "constraints":
        nnd = "COALESCE(ci.indnullsnotdistinct, false)" if server_version >= 150000 else "false"
        text = text.replace("{nulls_not_distinct}", nnd)
    elif name == "ranges":
        text = text.replace("{multirange}", _MULTIRANGE if server_version >= 140000 else "NULL")
    elif name == "indexes":
        text = text.replace("{nulls_not_distinct}", "i.indnullsnotdistinct" if server_version >= 150000 else "false")
    elif name == "dependencies":  # SQL-standard bodies arrived in PostgreSQL 14
        text = text.replace("{sql_body}", "p.prosqlbody IS NOT NULL" if server_version >= 140000 else "false")
    return text


def inspect(conn: psycopg.Connection, *, schemas: Sequence[str] | None = None) -> Schema:
    """The schema of the database `conn` is connected to; `schemas=None` means every user schema.

    Works in autocommit mode and inside a caller's transaction alike; leaves the session as it was.
    """
    with cycles.paused():
        return _inspect(conn, schemas)


def _inspect(conn: psycopg.Connection, schemas: Sequence[str] | None) -> Schema:
    version = conn.info.server_version
    params = {"schemas": None if schemas is None else list(schemas)}
    outermost = conn.info.transaction_status == TransactionStatus.IDLE
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with conn.transaction(force_rollback=True):
        cur = conn.cursor(row_factory=tuple_row)
        setup = "SET LOCAL search_path = ''"
        if outermost:
            setup = f"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; {setup}"
        cur.execute(setup)
        for name in QUERIES:
            cur.execute(catalog_query(name, version), params)  # type: ignore[arg-type]
            rows[name] = cur.fetchall()
    return build(rows, server_version=version)


def build(rows: dict[str, list[tuple[Any, ...]]], *, server_version: int) -> Schema:
    """Assemble the value from the catalog rows; pure, so the shapes can be read in one place."""
    columns: dict[int, list[Column]] = defaultdict(list)
    column_acls: dict[int, list[tuple[str, str, str, bool]]] = defaultdict(
        list
    )  # (column, grantee, privilege, grantable)
    for oid, name, type_, notnull, identity, generated, expression, collation, comment, *sequence, acl in rows[
        "columns"
    ]:
        column_acls[oid] += [
            (name, grantee, privilege, grantable == "true") for grantee, privilege, grantable in acl or ()
        ]
        is_generated = generated not in ("", None)
        columns[oid].append(
            Column(
                name=name,
                type=type_,
                nullable=not notnull,
                default=None if is_generated else expression,
                identity=_IDENTITY.get(identity or ""),  # type: ignore[arg-type]
                generated=expression if is_generated else None,
                collation=collation,
                comment=comment,
                identity_options=_identity_options(sequence) if identity else None,
            )
        )

    constraints: dict[int, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for (
        oid,
        name,
        kind,
        cols,
        ref_schema,
        ref_table,
        ref_cols,
        on_delete,
        on_update,
        match,
        deferrable,
        deferred,
        validated,
        definition,
        nulls_not_distinct,
    ) in rows["constraints"]:
        if kind == "p":
            constraints[oid]["p"].append(PrimaryKey(name, tuple(cols)))
        elif kind == "u":
            constraints[oid]["u"].append(
                UniqueConstraint(name, tuple(cols), deferrable, deferred, bool(nulls_not_distinct))
            )
        elif kind == "f":
            constraints[oid]["f"].append(
                ForeignKey(
                    name=name,
                    columns=tuple(cols),
                    ref_schema=ref_schema,
                    ref_table=ref_table,
                    ref_columns=tuple(ref_cols),
                    on_delete=_FK_ACTIONS[on_delete],
                    on_update=_FK_ACTIONS[on_update],
                    match_full=match == "f",
                    deferrable=deferrable,
                    initially_deferred=deferred,
                    validated=validated,
                )
            )
        else:
            constraints[oid]["c"].append(CheckConstraint(name, check_expression(definition), validated))

    indexes = _indexes(rows["indexes"])  # tables' and materialized views': each relation takes its own oid's

    exclusions: dict[int, list[ExclusionConstraint]] = defaultdict(list)
    for oid, name, definition in rows.get("exclusions", ()):
        exclusions[oid].append(ExclusionConstraint(name, definition))
    unlogged: set[int] = set()
    table_options: dict[int, tuple[str, ...]] = {}
    index_options: dict[tuple[int, str], tuple[str, ...]] = {}
    for oid, index_name, is_unlogged, options in rows.get("table_options", ()):
        if index_name is not None:
            index_options[(oid, index_name)] = tuple(sorted(options))
            continue
        if is_unlogged:
            unlogged.add(oid)
        table_options[oid] = tuple(sorted(options))

    partition_keys: dict[int, str] = {}
    bounds: dict[int, list[Partition]] = defaultdict(list)
    for oid, key, partition_schema, partition_name, bound in rows.get("partitions", ()):
        partition_keys[oid] = key
        if partition_name is not None:
            bounds[oid].append(Partition(partition_schema, partition_name, bound))

    tables = []
    column_grants: list[Grant] = []
    for oid, schema, name, comment, row_estimate, size_bytes, partitions in rows["tables"]:
        column_grants += [
            Grant("table", schema, name, "", grantee, privilege, grantable, column)
            for column, grantee, privilege, grantable in column_acls.get(oid, ())
        ]
        found = constraints.get(oid, {})
        pks = found.get("p", [])
        tables.append(
            Table(
                schema=schema,
                name=name,
                columns=tuple(columns.get(oid, ())),
                primary_key=pks[0] if pks else None,
                uniques=tuple(found.get("u", ())),
                foreign_keys=tuple(found.get("f", ())),
                checks=tuple(found.get("c", ())),
                indexes=tuple(
                    replace(i, options=index_options[(oid, i.name)]) if (oid, i.name) in index_options else i
                    for i in indexes.get(oid, ())
                ),
                comment=comment,
                row_estimate=int(row_estimate) if row_estimate is not None else -1,
                size_bytes=int(size_bytes or 0),
                partitions=tuple(partitions),
                exclusions=tuple(exclusions.get(oid, ())),
                unlogged=oid in unlogged,
                options=table_options.get(oid, ()),
                partition_by=partition_keys.get(oid),
                partition_bounds=tuple(bounds.get(oid, ())),
            )
        )

    enums = [Enum(schema, name, tuple(labels), comment) for schema, name, labels, comment in rows["enums"]]
    sequences = [_sequence(row) for row in rows["sequences"]]
    reported = [Reported(kind, schema, name, table, digest) for kind, schema, name, table, digest in rows["reported"]]
    namespaces = [name for (name,) in rows["namespaces"] if name not in ALWAYS_PRESENT_SCHEMAS]
    views = [
        View(
            schema=schema,
            name=name,
            materialized=materialized,
            definition=definition,
            columns=tuple(zip(column_names, column_types, strict=True)),
            options=tuple(sorted(options)),
            indexes=tuple(indexes.get(oid, ())),
            populated=populated,
        )
        for oid, schema, name, materialized, definition, column_names, column_types, options, populated in rows.get(
            "views", []
        )
    ]
    dependencies = [Dependency(*row) for row in rows.get("dependencies", [])]
    comments: dict[tuple[str, ...], str] = {}
    owners: list[Owner] = []
    for kind, schema, table, name, arguments, role, comment in rows.get("annotations", ()):
        if comment is not None:
            comments[(kind, schema, table or "", name, arguments)] = comment
        if role is not None:
            owners.append(Owner(kind, schema, name, arguments, role))

    def commented(value: Any, kind: str, table: str = "", arguments: str = "") -> Any:
        found = comments.get((kind, value.schema, table, value.name, arguments))
        return value if found is None else replace(value, comment=found)

    return Schema(
        tables=tuple(tables),
        enums=tuple(enums),
        sequences=tuple(sequences),
        schemas=tuple(namespaces),
        reported=tuple(reported),
        server_version=server_version,
        views=tuple(commented(v, v.kind) for v in views),
        dependencies=tuple(dependencies),
        uses=tuple(Use(*row) for row in rows.get("uses", ())),
        extensions=tuple(
            Extension(
                name,
                schema,
                version,
                in_use,
                tuple(tuple(r) for r in routines or ()),
                tuple(tuple(u) for u in users or ()),
            )
            for name, schema, version, in_use, routines, users in rows.get("extensions", ())
        ),
        domains=tuple(commented(_domain(row), "domain") for row in rows.get("domains", ())),
        composites=tuple(
            commented(CompositeType(schema, name, tuple(Attribute(*a) for a in attributes)), "type")
            for schema, name, attributes in rows.get("composites", ())
        ),
        routines=tuple(
            commented(r, r.kind, arguments=r.arguments)
            for r in (Routine(*row[:7], public_execute=row[7]) for row in rows.get("routines", ()))
        ),
        triggers=tuple(commented(t, "trigger", t.table) for t in (Trigger(*row) for row in rows.get("triggers", ()))),
        row_security=tuple(RowSecurity(*row) for row in rows.get("row_security", ())),
        policies=tuple(
            commented(Policy(schema, table, name, command, permissive, tuple(roles), using, check), "policy", table)
            for schema, table, name, command, permissive, roles, using, check in rows.get("policies", ())
        ),
        grants=tuple(g for g in (Grant(*row) for row in rows.get("grants", ())) if not g.implicit)
        + tuple(column_grants),
        owners=tuple(owners),
        default_privileges=tuple(DefaultPrivilege(*row) for row in rows.get("default_privileges", ())),
        ranges=tuple(RangeType(*row) for row in rows.get("ranges", ())),
    ).sorted()


def _indexes(rows: list[tuple[Any, ...]]) -> dict[int, list[Index]]:
    """Index rows (indexes.sql: tables' and materialized views') by the oid of the relation they are on."""
    indexes: dict[int, list[Index]] = defaultdict(list)
    for oid, name, method, unique, valid, definition, predicate, include, nulls_not_distinct in rows:
        indexes[oid].append(
            Index(
                name=name,
                unique=unique,
                method=method,
                keys=index_keys(definition),
                include=tuple(include),
                where=predicate,
                nulls_not_distinct=bool(nulls_not_distinct),
                definition=definition,
                valid=valid,
            )
        )
    return indexes


def _domain(row: tuple[Any, ...]) -> Domain:
    schema, name, type_, notnull, default, collation, checks = row
    return Domain(
        schema=schema,
        name=name,
        type=type_,
        nullable=not notnull,
        default=default,
        collation=collation,
        checks=tuple(CheckConstraint(n, check_expression(d), v == "true") for n, d, v in checks),
    )


def _identity_options(sequence: list[Any]) -> IdentityOptions | None:
    """The options of an identity's sequence, defaults folded away (None when all are defaults)."""
    start, increment, min_value, max_value, cache, cycle, data_type = sequence
    if increment is None:  # the sequence was not visible (it always is for an identity column)
        return None
    low, high = _INT_RANGES.get(data_type, (None, None))
    default_min, default_max = (1, high) if increment > 0 else (low, -1)
    default_start = default_min if increment > 0 else default_max
    options = IdentityOptions(
        start=None if start == default_start else int(start or 0),
        increment=int(increment),
        min_value=None if min_value == default_min else int(min_value),
        max_value=None if max_value == default_max else int(max_value),
        cache=int(cache),
        cycle=bool(cycle),
    )
    return None if options == IdentityOptions() else options


def _sequence(row: tuple[Any, ...]) -> SequenceValue:
    """Bounds equal to the defaults for the type and direction are stored as None ("NO MINVALUE")."""
    schema, name, data_type, start, increment, min_value, max_value, cycle, cache, owned_by = row
    low, high = _INT_RANGES.get(data_type, (None, None))
    default_min, default_max = (1, high) if increment > 0 else (low, -1)
    return SequenceValue(
        schema=schema,
        name=name,
        data_type=data_type,
        start=int(start),
        increment=int(increment),
        min_value=None if min_value == default_min else int(min_value),
        max_value=None if max_value == default_max else int(max_value),
        cycle=cycle,
        cache=int(cache),
        owned_by=owned_by,
    )


def check_expression(definition: str) -> str:
    """`CHECK ((a > 0)) NOT VALID` -> `((a > 0))`: validity is its own field, the keyword is implied."""
    text = definition
    if text.startswith("CHECK "):
        text = text[len("CHECK ") :]
    if text.endswith(" NOT VALID"):
        text = text[: -len(" NOT VALID")]
    return text


def index_keys(definition: str) -> tuple[str, ...]:
    """The key list of a `pg_get_indexdef` text, one entry per key, as PostgreSQL renders it.

    Only the full definition carries each key's collation, operator class, ordering and NULLS
    placement, so the keys are split out of it: the first parenthesised group outside quotes, cut at
    top-level commas, honouring '...' literals and "..." identifiers (both escape by doubling, so a
    toggle per quote character is exact).
    """
    return tuple(_groups(definition)[0]) if definition else ()


def _groups(text: str) -> list[list[str]]:
    groups: list[list[str]] = []
    depth = 0
    quote: str | None = None
    current: list[str] = []
    items: list[str] = []
    for ch in text:
        if quote:
            if depth:
                current.append(ch)
            if ch == quote:
                quote = None
            continue
        if ch in ("'", '"'):
            quote = ch
            if depth:
                current.append(ch)
            continue
        if ch == "(":
            depth += 1
            if depth == 1:
                current, items = [], []
                continue
        elif ch == ")":
            depth -= 1
            if depth == 0:
                items.append("".join(current).strip())
                groups.append(items)
                continue
        elif ch == "," and depth == 1:
            items.append("".join(current).strip())
            current = []
            continue
        if depth:
            current.append(ch)
    return groups or [[]]
