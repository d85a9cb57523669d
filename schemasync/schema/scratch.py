"""Materialising the models' DDL in scratch schemas inside a rolled-back transaction, and reading the
result back (steps 2 to 4 of `schema/target.py`'s docstring); models too big for one transaction go
through `schema/chunks.py`."""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import replace

import psycopg
from psycopg import sql as pgsql
from psycopg.rows import tuple_row

from schemasync.db import lock_table
from schemasync.errors import ConfigError
from schemasync.schema import chunks, extensions
from schemasync.schema.ddl import (
    PLACEHOLDER,
    DDLStatement,
    ModelDDL,
    first_keyword,
    parse_one,
    placeholder_schema,
    real_schema_name,
)
from schemasync.schema.inspect import ALWAYS_PRESENT_SCHEMAS, inspect
from schemasync.schema.loading import DEFAULT_SCHEMA, first_line
from schemasync.schema.model import ModelError, Schema, Table

log = logging.getLogger(__name__)

SETUP = "the scratch schema setup"


def materialise(conn: psycopg.Connection, ddl: ModelDDL, usable: frozenset[str] | None = None) -> Schema:
    """Run the DDL in scratch schemas inside a rolled-back transaction and inspect the result.

    Every object created holds a lock until the transaction ends, and the server's lock table is
    finite (`max_locks_per_transaction`): models too big for it are materialised in groups of
    tables linked by foreign keys, one rolled-back transaction each (`schema/chunks.py`). `usable`: the
    target's extensions, when `conn` is a dev database (`schema/extensions.py`).
    """
    groups = chunks.split(ddl, chunks.budget(conn))
    if len(groups) == 1:
        return _materialise_one(conn, groups[0].ddl, usable)
    log.debug("materialising the models in %d groups to stay within the server's lock table", len(groups))
    return chunks.merge([(_materialise_one(conn, group.ddl, usable), group.stubs) for group in groups])


_DATA_CLAUSE = re.compile(r"\s+WITH\s+(?P<no>NO\s+)?DATA\s*;?\s*$", re.IGNORECASE)


def materialise_in_target(conn: psycopg.Connection, ddl: ModelDDL) -> Schema:
    """`materialise` in scratch schemas of the target itself (no dev database): only what cannot act on live data.

    A rolled-back transaction undoes DDL, not everything a statement can do: `SELECT setval(...)` on a live
    sequence, a function called for its side effect, dblink. In a database of its own (a dev database, the
    embedded server, a temporary database) that is harmless; in the target it is not. So here the models'
    statements that schemasync does not manage (custom DDL events, CREATE TABLE AS) run only when they
    define something and execute nothing (a sequence, a type, a domain, a function, a comment: what other
    declarations may need); any other one is not run, with a warning (it is reported as declared and
    unmanaged anyway). A materialized view is created WITH NO DATA, so that its query is never executed,
    then reported as populated as it was declared. A managed DDL event that acts on a table the models do
    not create (an index, trigger, policy, row-level security or grant on a live table) is not run either:
    it would lock, and for an index read, the live table while the look lasts. In a dev database it fails
    for want of that table, so here it is the same model error, without touching the table.
    """
    relations = {
        (kind_schema_name[1], kind_schema_name[2])
        for kind_schema_name in (s.creates for s in ddl.statements)
        if kind_schema_name[0] in _RELATIONS
    }
    kept: list[DDLStatement] = []
    skipped: list[str] = []
    errors: list[ModelError] = []
    populated: set[tuple[str, str]] = set()
    for statement in ddl.statements:
        if not statement.managed and not _defines_only(statement.text):
            skipped.append(statement.what)
            continue
        live = _live_targets(statement.text, relations) if statement.custom and statement.managed else ()
        if live:
            errors.append(
                _model_error(
                    statement,
                    f"it acts on {', '.join(live)}, which the models do not create (declare the table in the models, "
                    "or drop the statement)",
                )
            )
            continue
        if statement.creates[0] == "materialized view":
            data = _DATA_CLAUSE.search(statement.text)
            if data is None or not data.group("no"):
                body = statement.text[: data.start()] if data else statement.text.rstrip().rstrip(";").rstrip()
                populated.add((statement.creates[1], statement.creates[2]))
                kept.append(replace(statement, text=f"{body}\nWITH NO DATA"))
                continue
        kept.append(statement)
    notes = tuple(
        f"The models' {what} was not run: without a dev database the models are materialised in the target "
        "itself, where a statement schemasync does not manage could act on live objects in ways a rollback "
        "does not undo (a setval, a function's side effect); set dev-url to have it run in a dev database"
        for what in skipped
    )
    result = materialise(conn, replace(ddl, statements=tuple(kept)))
    views = tuple(replace(v, populated=True) if v.key in populated else v for v in result.views)
    result = replace(result, views=views, warnings=(*result.warnings, *notes))
    if not errors:
        return result
    return replace(result, model_errors=(*result.model_errors, *errors), unmanaged_declared=ddl.unmanaged).sorted()


# Statements that only define an object: creating one executes no user code and touches no live row
# (a function's body is checked, not run). Everything else a custom DDL event may hold can.
_DEFINITIONS = frozenset(
    {
        "CreateSeqStmt",
        "CreateEnumStmt",
        "CompositeTypeStmt",
        "CreateRangeStmt",
        "CreateDomainStmt",
        "CreateFunctionStmt",
        "CommentStmt",
    }
)
# What `DDLStatement.creates` calls the relations a managed DDL event may act on.
_RELATIONS = frozenset({"table", "view", "materialized view", "partition"})


def _defines_only(text: str) -> bool:
    """Whether a statement the engine does not manage is one of `_DEFINITIONS` (parsed: no keyword guessing)."""
    return type(parse_one(text)).__name__ in _DEFINITIONS


def _live_targets(text: str, relations: set[tuple[str, str]]) -> tuple[str, ...]:
    """The relations a managed DDL event acts on (builds an index on, adds a trigger or policy to, alters,
    grants on, attaches a partition to) that are not among the models' `relations`, as `schema.name`.

    A qualified name of an object the models create carries a placeholder (`compile_models`), so any other
    qualified name is a live object; an unqualified one resolves through the search path, where the scratch
    schemas come first, so it is the models' own when they create a relation of that name. What a view's
    query reads is not a target: creating a view executes nothing and locks nothing for writes.
    """
    from pglast import ast  # lazy: start-up (pglast; only DDL events without a dev database)

    stmt = parse_one(text)
    if isinstance(stmt, ast.IndexStmt | ast.CreateTrigStmt | ast.AlterTableStmt):
        targets = [stmt.relation]
    elif isinstance(stmt, ast.CreatePolicyStmt):
        targets = [stmt.table]
    elif isinstance(stmt, ast.GrantStmt):
        targets = [o for o in stmt.objects or () if isinstance(o, ast.RangeVar)]
    elif isinstance(stmt, ast.CreateStmt):
        targets = [*(stmt.inhRelations or ())]
    else:
        return ()
    names = {name for _, name in relations}
    live = []
    for target in targets:
        schema, name = target.schemaname, str(target.relname)
        real = placeholder_schema(schema)
        if (real is not None and (real, name) in relations) or (schema is None and name in names):
            continue
        live.append(f"{real or schema}.{name}" if schema else name)
    return tuple(live)


def _materialise_one(conn: psycopg.Connection, ddl: ModelDDL, usable: frozenset[str] | None) -> Schema:
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
    rendered: list[tuple[DDLStatement, str]] = []
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
            inspected = _inspect_models(conn, scratch, rendered, usable)
    if failure is not None:
        _refuse_fatal(conn, failure, "the models' DDL")
        inspected, quoted, more = _materialise_each(conn, rendered, scratch, usable)
        errors += more
    back = {name: real for real, name in scratch.items()}
    result = map_schema_names(inspected, back, {name: quoted.get(real, real) for real, name in scratch.items()})
    if not errors and not ddl.unmanaged:
        return result
    return replace(result, model_errors=tuple(errors), unmanaged_declared=ddl.unmanaged).sorted()


def _inspect_models(
    conn: psycopg.Connection,
    scratch: dict[str, str],
    rendered: list[tuple[DDLStatement, str]],
    usable: frozenset[str] | None,
) -> Schema:
    """The scratch schemas as the inspector reads them, with the extensions the models want.

    Extensions are database-wide, so the inspector's list is the whole materialising database's; the
    models' own are picked by name (`schema/extensions.py`), before the transaction is rolled back.
    """
    inspected = inspect(conn, schemas=list(scratch.values()))
    return replace(inspected, extensions=extensions.of_models(conn, [text for _, text in rendered], usable))


def _materialise_each(
    conn: psycopg.Connection,
    rendered: list[tuple[DDLStatement, str]],
    scratch: dict[str, str],
    usable: frozenset[str] | None,
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
        inspected = _inspect_models(conn, scratch, rendered, usable)
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


def _model_error(statement: DDLStatement, reason: str) -> ModelError:
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
    return PLACEHOLDER.sub(lambda m: scratch[real_schema_name(m.group(1))], text)


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
    (types, defaults, expressions, index definitions) and the comments of the models' COMMENT ON events (whose
    text the placeholder pass reads like any other DDL's) have the identifier replaced by `quoted[from]`
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
        extensions=tuple(replace(x, schema=name(x.schema)) for x in schema.extensions),
        domains=tuple(
            replace(
                d,
                schema=name(d.schema),
                type=sub(d.type),
                default=text(d.default),
                collation=text(d.collation),
                checks=tuple(replace(k, expression=sub(k.expression)) for k in d.checks),
                comment=text(d.comment),
            )
            for d in schema.domains
        ),
        composites=tuple(
            replace(
                t,
                schema=name(t.schema),
                attributes=tuple(replace(a, type=sub(a.type), collation=text(a.collation)) for a in t.attributes),
                comment=text(t.comment),
            )
            for t in schema.composites
        ),
        views=tuple(
            replace(
                v,
                schema=name(v.schema),
                definition=sub(v.definition),
                columns=tuple((n, sub(t)) for n, t in v.columns),
                indexes=tuple(
                    replace(
                        ix, keys=tuple(sub(k) for k in ix.keys), where=text(ix.where), definition=sub(ix.definition)
                    )
                    for ix in v.indexes
                ),
                comment=text(v.comment),
            )
            for v in schema.views
        ),
        dependencies=tuple(
            replace(d, schema=name(d.schema), ref_schema=name(d.ref_schema)) for d in schema.dependencies
        ),
        uses=tuple(
            replace(
                u,
                schema=name(u.schema),
                arguments=sub(u.arguments),
                ref_schema=name(u.ref_schema),
                ref_arguments=sub(u.ref_arguments),
            )
            for u in schema.uses
        ),
        routines=tuple(
            replace(
                r,
                schema=name(r.schema),
                arguments=sub(r.arguments),
                result=text(r.result),
                parameters=sub(r.parameters),
                definition=sub(r.definition),
                comment=text(r.comment),
            )
            for r in schema.routines
        ),
        triggers=tuple(
            replace(t, schema=name(t.schema), definition=sub(t.definition), comment=text(t.comment))
            for t in schema.triggers
        ),
        row_security=tuple(replace(r, schema=name(r.schema)) for r in schema.row_security),
        policies=tuple(
            replace(p, schema=name(p.schema), using=text(p.using), check=text(p.check), comment=text(p.comment))
            for p in schema.policies
        ),
        grants=tuple(
            mapped
            for mapped in (replace(g, schema=name(g.schema), arguments=sub(g.arguments)) for g in schema.grants)
            if not mapped.implicit
        ),
        default_privileges=tuple(replace(d, schema=name(d.schema)) for d in schema.default_privileges),
        ranges=tuple(
            replace(
                r,
                schema=name(r.schema),
                subtype=sub(r.subtype),
                subtype_opclass=text(r.subtype_opclass),
                collation=text(r.collation),
                canonical=text(r.canonical),
                subtype_diff=text(r.subtype_diff),
                multirange=text(r.multirange),
            )
            for r in schema.ranges
        ),
    ).sorted()


# -- cache ---------------------------------------------------------------------------------------
