"""What the diff is allowed to look at: schemas, table filters, our own tables, prune, rename hints.

Both sides are cut down to the same scope before anything is compared, so a filtered-out table is
neither created, altered, dropped nor reported. The managed schemas are the ones the models use
(or `include_schemas` when given): a database's other schemas are somebody else's business, even
with prune. Models with no objects at all therefore manage nothing: an empty or misconfigured
MetaData must never read as "drop every table in public". Our own tables (`bookkeeping.OWN_TABLES`) are never part of any diff.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase

from schemasync.bookkeeping import OWN_TABLES
from schemasync.schema.model import RenameHints, Schema, Table


@dataclass(frozen=True, slots=True)
class CompareOptions:
    prune: bool = False  # drop tables, columns, enums, sequences and extensions that the models do not have
    include_schemas: tuple[str, ...] = ()  # empty: the schemas the models use
    include_tables: tuple[str, ...] = ()  # globs on "table" or "schema.table"; empty: all
    exclude_tables: tuple[str, ...] = ()
    hints: RenameHints = field(default_factory=RenameHints)
    owner: str | None = None  # the `owner` setting: the role every managed object must be owned by (diff/owners.py)


def table_selected(schema: str, name: str, options: CompareOptions) -> bool:
    if (schema, name) in OWN_TABLES:
        return False
    names = (name, f"{schema}.{name}")
    if options.include_tables and not any(fnmatchcase(n, p) for p in options.include_tables for n in names):
        return False
    return not any(fnmatchcase(n, p) for p in options.exclude_tables for n in names)


def managed_schemas(desired: Schema, options: CompareOptions) -> frozenset[str]:
    if options.include_schemas:
        return frozenset(options.include_schemas)
    used = {t.schema for t in desired.tables} | {e.schema for e in desired.enums}
    used |= {s.schema for s in desired.sequences} | set(desired.schemas) | {v.schema for v in desired.views}
    used |= {d.schema for d in desired.domains} | {t.schema for t in desired.composites}
    return frozenset(used)


def restrict(schema: Schema, desired: Schema, options: CompareOptions) -> Schema:
    """`schema` limited to what the diff manages under `options` (the desired side decides the schemas)."""
    schemas = managed_schemas(desired, options)
    wanted_extensions = {x.key for x in desired.extensions}

    def keep(t: Table) -> bool:
        return t.schema in schemas and table_selected(t.schema, t.name, options)

    return replace(
        schema,
        tables=tuple(t for t in schema.tables if keep(t)),
        enums=tuple(e for e in schema.enums if e.schema in schemas),
        sequences=tuple(s for s in schema.sequences if s.schema in schemas),
        schemas=tuple(s for s in schema.schemas if s in schemas),
        reported=tuple(r for r in schema.reported if r.schema in schemas),
        views=tuple(v for v in schema.views if v.schema in schemas and table_selected(v.schema, v.name, options)),
        # database-wide: the ones the models want wherever they are, the others only in the managed schemas
        extensions=tuple(x for x in schema.extensions if x.schema in schemas or x.key in wanted_extensions),
        domains=tuple(d for d in schema.domains if d.schema in schemas),
        composites=tuple(t for t in schema.composites if t.schema in schemas),
        routines=tuple(r for r in schema.routines if r.schema in schemas),
        triggers=tuple(
            t for t in schema.triggers if t.schema in schemas and table_selected(t.schema, t.table, options)
        ),
        row_security=tuple(
            r for r in schema.row_security if r.schema in schemas and table_selected(r.schema, r.table, options)
        ),
        policies=tuple(
            p for p in schema.policies if p.schema in schemas and table_selected(p.schema, p.table, options)
        ),
        owners=tuple(o for o in schema.owners if o.schema in schemas),
        grants=tuple(
            g
            for g in schema.grants
            if g.schema in schemas
            and (g.kind not in ("table", "sequence") or table_selected(g.schema, g.name, options))
        ),
        default_privileges=tuple(d for d in schema.default_privileges if d.schema in schemas),
        ranges=tuple(r for r in schema.ranges if r.schema in schemas),
    )


def scoped_hash(current: Schema, desired: Schema, options: CompareOptions) -> str:
    """The hash a plan is made from: only the part of the database the plan is about."""
    return restrict(current, desired, options).sorted().hash()
