"""`introspect`: sqlacodegen's models for an existing database, put right from our own inspection.

sqlacodegen (4.x) writes the models from SQLAlchemy's reflection: classes, `Mapped[...]` types,
Python enums for PostgreSQL enums, identity and serial keys, constraints with their names, server
defaults, comments, relationships. What it gets wrong is put right from our own inspection of the
same database (`schema/inspect.py`), so the models check clean against the database they came from:

- indexes on expressions lose their expressions (`lower(email)` vanishes, leaving an index with no
  columns) and keys lose their ordering (`occurred_at DESC` becomes `occurred_at`); partial
  predicates are rendered as plain strings. Every `Index(...)` is rewritten from the inspected index:
  columns by name, expressions and ordered keys as `text(...)`, `postgresql_where=text(...)`,
  `postgresql_using`, `postgresql_include` and `postgresql_with` where they apply;
- a unique constraint's NULLS NOT DISTINCT and DEFERRABLE are lost; they are put back;
- exclusion constraints, UNLOGGED, storage parameters and partition keys are not reflected; domain
  columns come back with the domain's default and NOT NULL as their own, composite columns as
  NullType. The reflected tables are given them before sqlacodegen runs (`declarative.py`);
- partitions are reflected as tables of their own: they are left out, and written as partition events
  of their parent, like extensions, domains, composite types, views, routines, triggers, row-level
  security, policies and grants (`declarations.py`);
- schemasync's own tables (`schema_versions`, `schema_snapshots`) and Alembic's version table are
  bookkeeping, not the app's schema: they are left out.

The result is checked by `schemasync check --models MODULE:Base` in the tests (`tests/history/test_introspect.py`).
"""

from __future__ import annotations

import ast
import logging
import re
import warnings
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pglast import parse_sql
from pglast.stream import RawStream
from sqlalchemy.dialects.postgresql import DOMAIN
from sqlalchemy.pool import NullPool

from schemasync import db
from schemasync.bookkeeping import OWN_TABLES
from schemasync.codegen import declarations
from schemasync.codegen.declarative import Composite, Generator
from schemasync.diff.names import SERIAL_TYPES
from schemasync.errors import ConfigError
from schemasync.migrations.ops import _plain_column, strip_parens
from schemasync.schema.inspect import inspect
from schemasync.schema.model import ExclusionConstraint, Index, Schema, Table, UniqueConstraint

if TYPE_CHECKING:
    from schemasync.config import Settings

log = logging.getLogger(__name__)

HEADER = '''"""SQLAlchemy models for {where}, written by `schemasync introspect` (sqlacodegen {version}).

Check them against the database with: schemasync check --models MODULE:Base
"""

'''


def introspect(
    target: db.Database, settings: Settings, *, schemas: tuple[str, ...] = ("public",), tables: tuple[str, ...] = ()
) -> str:
    """The models' source for the tables of `schemas` (all of them, or only `tables`), with the extensions,
    domains, composite types, partitions, row-level security flags and table grants they use, and (when all
    tables are written) the views, routines, triggers, policies and other grants."""

    with db.session(target, settings) as conn:  # connection problems explained the usual way
        value = inspect(conn, schemas=list(schemas))
    # The inspector's tables: partitions are part of their parent there, written as its partition events.
    known = {(t.schema, t.name): t for t in value.tables if (t.schema, t.name) not in OWN_TABLES}
    if not known:
        raise _no_tables(target, schemas)
    wanted = {(s, t) for s in schemas for t in tables} if tables else None
    if wanted is not None:
        missing = sorted(f"{s}.{t}" for s, t in wanted if (s, t) not in known and not any(t == n for _, n in known))
        if missing:
            raise ConfigError(
                f"There is no table {', '.join(missing)} in {target.display}.",
                "Name tables as they are in the database (--table NAME, repeatable), with --schema for other schemas.",
            )
    engine = sa.create_engine(
        target.sqlalchemy_url,
        poolclass=NullPool,
        connect_args={
            "application_name": "schemasync introspect",
            "connect_timeout": max(2, round(settings.connect_timeout)),
        },
    )
    metadata = sa.MetaData()
    classes = _composite_classes(value)
    try:
        with engine.connect() as sa_conn, warnings.catch_warnings():
            warnings.simplefilter("ignore", sa.exc.SAWarning)  # types it cannot map are rendered as NullType
            for schema in schemas:

                def only(name: str, _: sa.MetaData, schema: str = schema) -> bool:
                    if (schema, name) not in known:
                        return False
                    return wanted is None or (schema, name) in wanted or name in tables

                metadata.reflect(sa_conn, schema=None if schema == "public" else schema, views=False, only=only)
            table_kwargs, exclusions = _table_properties(metadata, known, classes)
            source = Generator(metadata, sa_conn, table_kwargs=table_kwargs, exclusions=exclusions).generate()
    except sa.exc.SQLAlchemyError as exc:
        raise ConfigError(
            f"Reading the tables of {target.display} failed: {type(exc).__name__}: {str(exc).splitlines()[0]}.",
            "Run with --debug for details.",
        ) from None
    finally:
        engine.dispose()
    if not metadata.tables:
        raise _no_tables(target, schemas)
    elsewhere = sorted(f"{t.schema}.{t.name}" for t in (*value.domains, *value.composites) if t.schema != "public")
    if elsewhere:  # README: domains and composite types are created where the search path puts them
        log.warning(
            "Domains and composite types outside public (%s) are written schema-qualified; schemasync creates "
            "such types in the models' first schema, so these models will not check clean until that changes.",
            ", ".join(elsewhere),
        )
    written = [known[(t.schema or "public", t.name)] for t in metadata.tables.values()]
    text = fix_indexes(source, value)
    if classes:
        text = _before_base(text, declarations.composite_classes(classes))
    return header(target, settings) + text + declarations.events_source(value, written, with_views=not tables)


def _composite_classes(schema: Schema) -> dict[tuple[str, str], str]:
    """(schema, name) of each composite or range type -> the name of the Python class written for it."""
    taken: set[str] = set()
    return {(t.schema, t.name): declarations.composite_class(t, taken) for t in (*schema.composites, *schema.ranges)}


def _table_properties(
    metadata: Any, known: dict[tuple[str, str], Table], classes: dict[tuple[str, str], str]
) -> tuple[dict[tuple[str, str], dict[str, object]], dict[tuple[str, str], list[str]]]:
    """What reflection misses, put on the reflected tables: composite and domain columns as the database
    has them, exclusion constraints; and the table keywords (UNLOGGED, storage parameters, partition key)."""

    table_kwargs: dict[tuple[str, str], dict[str, object]] = {}
    exclusions: dict[tuple[str, str], list[str]] = {}
    for reflected in metadata.tables.values():
        key = (reflected.schema or "public", reflected.name)
        table = known[key]
        for column in reflected.columns:
            inspected = table.column(column.name)
            if inspected is None:
                continue
            split = declarations.split_type(inspected.type)
            if split is not None and split[:2] in classes:
                composite = Composite(classes[split[:2]])
                column.type = sa.ARRAY(composite) if split[2] else composite
            if isinstance(column.type, DOMAIN):  # reflection gives the column its domain's default and NOT NULL
                column.nullable = inspected.nullable
                if inspected.default is None:
                    column.server_default = None
        for x in table.exclusions:
            rendered = render_exclusion(x)
            if rendered is None:
                log.warning(
                    "Exclusion constraint %s on %s is not written: ExcludeConstraint cannot declare INCLUDE or WITH.",
                    x.name,
                    table.qualified,
                )
                continue
            exclusions.setdefault(key, []).append(rendered)
        kwargs: dict[str, object] = {}
        if table.unlogged:
            kwargs["prefixes"] = ["UNLOGGED"]
        if table.partition_by is not None:
            kwargs["postgresql_partition_by"] = table.partition_by
        if table.options:
            kwargs["postgresql_with"] = _options(table.options)
        if kwargs:
            table_kwargs[key] = kwargs
    return table_kwargs, exclusions


def _options(options: tuple[str, ...]) -> dict[str, str]:
    """reloptions ("fillfactor=70") as `postgresql_with`'s dict."""
    return {key: value for key, _, value in (option.partition("=") for option in options)}


def render_exclusion(x: ExclusionConstraint) -> str | None:
    """`ExcludeConstraint(...)` for the catalog's definition; None when it has what ExcludeConstraint
    cannot declare (INCLUDE, WITH storage parameters)."""
    statement = parse_sql(f"ALTER TABLE t ADD CONSTRAINT c {x.definition}")[0].stmt
    constraint = statement.cmds[0].def_
    if constraint.including or constraint.options:
        return None
    args = []
    for element, operator in constraint.exclusions:
        names = [o.sval for o in operator]
        op = names[0] if len(names) == 1 else f"OPERATOR({'.'.join(names)})"
        plain = element.name is not None and not element.opclass and not element.collation
        plain = plain and element.ordering.name == "SORTBY_DEFAULT" and element.nulls_ordering.name.endswith("DEFAULT")
        what = repr(element.name) if plain else f"text({RawStream()(element)!r})"
        args.append(f"({what}, {op!r})")
    args.append(f"name={x.name!r}")
    if constraint.access_method and constraint.access_method != "btree":
        args.append(f"using={constraint.access_method!r}")
    if constraint.where_clause is not None:
        args.append(f"where=text({RawStream()(constraint.where_clause)!r})")
    if constraint.deferrable:
        args.append("deferrable=True")
        if constraint.initdeferred:
            args.append("initially='DEFERRED'")
    return f"ExcludeConstraint({', '.join(args)})"


def _before_base(source: str, text: str) -> str:
    """`text` placed before `class Base(...)` (the composite types' classes the models' columns use)."""
    at = source.find("\nclass Base(")
    return source if at < 0 else source[:at] + text + "\n" + source[at:]


def _no_tables(target: db.Database, schemas: tuple[str, ...]) -> ConfigError:
    return ConfigError(
        f"There are no tables in {', '.join(schemas)} on {target.display} to write models for.",
        "Point it at the app's database, or name the schemas with --schema.",
    )


def header(target: db.Database, settings: Settings) -> str:
    return HEADER.format(where=target.display, version=version("sqlacodegen"))


_ATTRIBUTE = re.compile(r"^    (?P<attr>\w+): Mapped\[[^=]*\] = mapped_column\((?P<args>.*)\)\s*$")


def _not_serial(schema: Schema) -> set[tuple[str, str]]:
    """(table, column) of single-column integer primary keys with no default: SQLAlchemy would make them SERIAL."""
    found = set()
    for t in schema.tables:
        if t.primary_key is None or len(t.primary_key.columns) != 1:
            continue
        col = t.column(t.primary_key.columns[0])
        if col is not None and col.type in SERIAL_TYPES and col.default is None and col.identity is None:
            found.add((t.name, col.name))
    return found


_TABLENAME = re.compile(r"^\s+__tablename__ = (?P<name>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\s*$")


def fix_indexes(source: str, schema: Schema) -> str:
    """Every `Index(...)` line of sqlacodegen's output rewritten from the inspected index, and
    `autoincrement=False` on integer keys that have no sequence (else create_all makes them SERIAL)."""
    by_table: dict[tuple[str, str], Index] = {}
    uniques: dict[tuple[str, str], UniqueConstraint] = {}
    for table in schema.tables:
        for index in table.indexes:
            by_table.setdefault((table.name, index.name), index)
        for unique in table.uniques:
            uniques.setdefault((table.name, unique.name), unique)
    not_serial = _not_serial(schema)
    out: list[str] = []
    table_name: str | None = None
    needs_text = False
    for original in source.splitlines():
        line = original
        found = _TABLENAME.match(line)
        if found:
            table_name = ast.literal_eval(found["name"])
        attribute = _ATTRIBUTE.match(line)
        if attribute and table_name is not None and "primary_key=True" in line and "autoincrement" not in line:
            first = attribute["args"].split(",")[0].strip()
            column = ast.literal_eval(first) if first[:1] in ("'", '"') else attribute["attr"]
            if (table_name, column) in not_serial:  # a plain integer key: no SERIAL for it
                line = line.replace("primary_key=True", "primary_key=True, autoincrement=False", 1)
        stripped = line.strip()
        if stripped.startswith("Index(") and table_name is not None:
            comma = "," if stripped.endswith(",") else ""
            try:
                call = ast.parse(stripped.rstrip(",")).body[0].value  # type: ignore[attr-defined]
                name = ast.literal_eval(call.args[0])
            except (SyntaxError, ValueError, IndexError, AttributeError):
                out.append(line)
                continue
            found_index = by_table.get((table_name, name))
            if found_index is not None:
                rendered, uses_text = render_index(found_index)
                needs_text = needs_text or uses_text
                out.append(line[: len(line) - len(line.lstrip())] + rendered + comma)
                continue
        if stripped.startswith("UniqueConstraint(") and table_name is not None:
            line = _fix_unique(line, table_name, uniques)
        out.append(line)
    text = "\n".join(out) + "\n"
    if needs_text:
        text = _ensure_import(text, "text")
    return text


def _fix_unique(line: str, table_name: str, uniques: dict[tuple[str, str], UniqueConstraint]) -> str:
    """NULLS NOT DISTINCT and DEFERRABLE are lost on the way through reflection: put them back."""
    stripped = line.strip()
    comma = "," if stripped.endswith(",") else ""
    try:
        call = ast.parse(stripped.rstrip(",")).body[0].value  # type: ignore[attr-defined]
        name = next(ast.literal_eval(k.value) for k in call.keywords if k.arg == "name")
    except (SyntaxError, ValueError, StopIteration, AttributeError):
        return line
    unique = uniques.get((table_name, name))
    if unique is None or not (unique.nulls_not_distinct or unique.deferrable):
        return line
    args = [*map(repr, unique.columns), f"name={unique.name!r}"]
    if unique.deferrable:
        args.append("deferrable=True")
        if unique.initially_deferred:
            args.append("initially='DEFERRED'")
    if unique.nulls_not_distinct:
        args.append("postgresql_nulls_not_distinct=True")
    return line[: len(line) - len(line.lstrip())] + f"UniqueConstraint({', '.join(args)})" + comma


def render_index(index: Index) -> tuple[str, bool]:
    """`Index('name', 'col', text('lower(email)'), unique=True, ...)` and whether it uses `text`."""
    uses_text = False
    args = [repr(index.name)]
    for key in index.keys:
        column = _plain_column(key)
        if column is not None:
            args.append(repr(column))
        else:
            args.append(f"text({key!r})")
            uses_text = True
    if index.unique:
        args.append("unique=True")
    if index.method != "btree":
        args.append(f"postgresql_using={index.method!r}")
    if index.include:
        args.append(f"postgresql_include={list(index.include)!r}")
    if index.where:
        args.append(f"postgresql_where=text({strip_parens(index.where)!r})")
        uses_text = True
    if index.nulls_not_distinct:
        args.append("postgresql_nulls_not_distinct=True")
    if index.options:
        args.append(f"postgresql_with={_options(index.options)!r}")
    return f"Index({', '.join(args)})", uses_text


def _ensure_import(source: str, name: str) -> str:
    """Add `name` to the `from sqlalchemy import ...` line sqlacodegen wrote (or add the line)."""
    lines = source.splitlines()
    head = "from sqlalchemy import "
    for i, line in enumerate(lines):
        if line.startswith(head):
            names = [n.strip() for n in line.removeprefix(head).split(",")]
            if name not in names:
                lines[i] = head + ", ".join(sorted([*names, name], key=str.lower))
            return "\n".join(lines) + "\n"
    return f"{head}{name}\n" + source
