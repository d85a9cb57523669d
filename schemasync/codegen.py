"""`introspect`: typed SQLAlchemy 2 declarative models (`Mapped[...]`) for an existing database.

sqlacodegen (4.x) writes the models from SQLAlchemy's reflection: classes, `Mapped[...]` types,
Python enums for PostgreSQL enums, identity and serial keys, constraints with their names, server
defaults, comments, relationships. What it gets wrong is put right from our own inspection of the
same database (`schema/inspect.py`), so the models check clean against the database they came from:

- indexes on expressions lose their expressions (`lower(email)` vanishes, leaving an index with no
  columns) and keys lose their ordering (`occurred_at DESC` becomes `occurred_at`); partial
  predicates are rendered as plain strings. Every `Index(...)` is rewritten from the inspected index:
  columns by name, expressions and ordered keys as `text(...)`, `postgresql_where=text(...)`,
  `postgresql_using` and `postgresql_include` where they apply;
- a unique constraint's NULLS NOT DISTINCT and DEFERRABLE are lost; they are put back;
- schemasync's own tables (`schema_versions`, `schema_snapshots`) and Alembic's version table are
  bookkeeping, not the app's schema: they are left out.

The result is checked by `schemasync check --models MODULE:Base` in the tests, against the example
app's database.
"""

from __future__ import annotations

import ast
import logging
import re
import warnings
from importlib.metadata import version
from typing import TYPE_CHECKING

from schemasync import db
from schemasync.bookkeeping import OWN_TABLES
from schemasync.diff.names import SERIAL_TYPES
from schemasync.diff.views import creation_order
from schemasync.errors import ConfigError
from schemasync.migrations.ops import _plain_column, strip_parens
from schemasync.plan.indexes import index_sql
from schemasync.plan.views import view_sql
from schemasync.schema.inspect import inspect
from schemasync.schema.model import Index, Schema, UniqueConstraint

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
    """The models' source for the tables of `schemas` (all of them, or only `tables`)."""
    import sqlalchemy as sa
    from sqlacodegen.generators import DeclarativeGenerator
    from sqlalchemy.pool import NullPool

    with db.session(target, settings) as conn:  # connection problems explained the usual way
        value = inspect(conn, schemas=list(schemas))
    known = {(t.schema, t.name) for t in value.tables if (t.schema, t.name) not in OWN_TABLES}
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
    try:
        with engine.connect() as sa_conn, warnings.catch_warnings():
            warnings.simplefilter("ignore", sa.exc.SAWarning)  # types it cannot map are rendered as NullType
            for schema in schemas:

                def only(name: str, _: sa.MetaData, schema: str = schema) -> bool:
                    if (schema, name) in OWN_TABLES:
                        return False
                    return wanted is None or (schema, name) in wanted or name in tables

                metadata.reflect(sa_conn, schema=None if schema == "public" else schema, views=False, only=only)
            source = DeclarativeGenerator(metadata, sa_conn, ()).generate()
    except sa.exc.SQLAlchemyError as exc:
        raise ConfigError(
            f"Reading the tables of {target.display} failed: {type(exc).__name__}: {str(exc).splitlines()[0]}.",
            "Run with --debug for details.",
        ) from None
    finally:
        engine.dispose()
    if not metadata.tables:
        raise _no_tables(target, schemas)
    return header(target, settings) + fix_indexes(source, value) + (views_source(value) if not tables else "")


def views_source(schema: Schema) -> str:
    """The database's views and materialized views (with their indexes), as DDL events on `Base.metadata`.

    A DDL event whose statement is CREATE VIEW, CREATE MATERIALIZED VIEW or CREATE INDEX is managed like
    SQLAlchemy's `CreateView`, and carries the definition exactly as PostgreSQL prints it (a `CreateView`
    would need the SELECT rebuilt as SQLAlchemy expressions). Each text is a Python literal (`repr`), with
    `%` doubled for DDL's own formatting, so no view body can break out of it. Dependencies first.
    """
    if not schema.views:
        return ""
    lines = [
        "",
        "",
        "# Views and materialized views: DDL events that schemasync creates and compares (README: views).",
        "from sqlalchemy import DDL, event  # noqa: E402",
        "",
    ]
    for view in creation_order(list(schema.views), schema, schema):
        texts = [view_sql(view)] + [index_sql(view.schema, view.name, i) for i in view.indexes]
        lines += [f'event.listen(Base.metadata, "after_create", DDL({t.replace("%", "%%")!r}))' for t in texts]
    return "\n".join(lines) + "\n"


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
    return f"Index({', '.join(args)})", uses_text


def _ensure_import(source: str, name: str) -> str:
    """Add `name` to the `from sqlalchemy import ...` line sqlacodegen wrote (or add the line)."""
    lines = source.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("from sqlalchemy import "):
            names = [n.strip() for n in line.removeprefix("from sqlalchemy import ").split(",")]
            if name not in names:
                lines[i] = "from sqlalchemy import " + ", ".join(sorted([*names, name], key=str.lower))
            return "\n".join(lines) + "\n"
    return f"from sqlalchemy import {name}\n" + source
