"""Objects the models declare but PostgreSQL cannot create: held at their live state, reported apart.

A model error (`schema.model.ModelError`) is an object missing from the desired schema because the
server refused it, not because the models dropped it. Compared as it is, its live counterpart would
be planned as a DROP (and a refused table's rows with it under --prune). So before the comparison
each such object is copied from the live schema into the desired one: the plan neither creates,
changes nor drops it, and the rest of the models is compared as usual. What the live side has for
it is reported beside the error (`counterpart`), so the user sees both definitions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from schemasync.schema.model import ModelError, Schema, Table


@dataclass(frozen=True, slots=True)
class HeldError:
    """A model error with the database's own definition of that object (None: the database has none)."""

    error: ModelError
    live: str | None

    def describe(self) -> str:
        live = f"; the database has {self.live}" if self.live else "; the database has no such object"
        return f"{self.error.describe()}{live}"

    def to_dict(self) -> dict[str, str | None]:
        e = self.error
        return {
            "kind": e.kind,
            "schema": e.schema,
            "table": e.table,
            "name": e.name,
            "object": e.what,
            "reason": e.reason,
            "live": self.live,
        }


def hold(desired: Schema, current: Schema) -> tuple[Schema, tuple[HeldError, ...]]:
    """`desired` with every object behind a model error held at its live state, and the errors described."""
    if not desired.model_errors:
        return desired, ()
    tables = {t.key: t for t in desired.tables}
    enums = {e.key: e for e in desired.enums}
    sequences = {s.key: s for s in desired.sequences}
    views = {v.key: v for v in desired.views}
    domains = {d.key: d for d in desired.domains}
    routines = {r.key: r for r in desired.routines}
    held = []
    for error in desired.model_errors:
        live = counterpart(error, current)
        held.append(HeldError(error, live))
        if live is None:
            continue
        key = (error.schema, error.table or error.name)
        if error.kind == "table":
            tables[key] = current.table(*key)  # type: ignore[assignment]
        elif error.kind == "enum type":
            enums[key] = current.enum(*key)  # type: ignore[assignment]
        elif error.kind == "sequence":
            sequences[key] = next(s for s in current.sequences if s.key == key)
        elif error.kind in ("view", "materialized view"):
            views[key] = current.view(*key)  # type: ignore[assignment]
        elif error.kind == "domain":
            domains[key] = next(d for d in current.domains if d.key == key)
        elif error.kind in ("function", "procedure"):  # every live overload of the name the models declare
            routines.update({r.key: r for r in current.routines if (r.schema, r.name) == key})
        elif error.kind in ("index", "constraint") and key in tables:
            tables[key] = _with_live_part(tables[key], current.table(*key), error)  # type: ignore[arg-type]
        elif error.kind == "index" and key in views:
            live_view = current.view(*key)
            extra = tuple(i for i in live_view.indexes if i.name == error.name) if live_view else ()
            views[key] = replace(views[key], indexes=(*views[key].indexes, *extra))
    value = replace(
        desired,
        tables=tuple(tables.values()),
        enums=tuple(enums.values()),
        sequences=tuple(sequences.values()),
        views=tuple(views.values()),
        domains=tuple(domains.values()),
        routines=tuple(routines.values()),
    )
    return value.sorted(), tuple(held)


def _with_live_part(table: Table, live: Table, error: ModelError) -> Table:
    name = error.name
    if error.kind == "index":
        return replace(table, indexes=(*table.indexes, *(i for i in live.indexes if i.name == name)))
    if live.primary_key is not None and live.primary_key.name == name and table.primary_key is None:
        return replace(table, primary_key=live.primary_key)
    return replace(
        table,
        uniques=(*table.uniques, *(u for u in live.uniques if u.name == name)),
        foreign_keys=(*table.foreign_keys, *(f for f in live.foreign_keys if f.name == name)),
        checks=(*table.checks, *(c for c in live.checks if c.name == name)),
    )


def counterpart(error: ModelError, current: Schema) -> str | None:
    """The live definition of the object a model error is about, in a few words; None when there is none."""
    if error.kind == "table":
        table = current.table(error.schema, error.name)
        return None if table is None else f"table {table.qualified} with {len(table.columns)} columns"
    if error.kind == "enum type":
        enum = current.enum(error.schema, error.name)
        return None if enum is None else f"enum {error.schema}.{enum.name} ({', '.join(map(repr, enum.labels))})"
    if error.kind == "sequence":
        found = any(s.key == (error.schema, error.name) for s in current.sequences)
        return f"sequence {error.schema}.{error.name}" if found else None
    if error.kind in ("view", "materialized view"):
        view = current.view(error.schema, error.name)
        return None if view is None else f"{view.kind} {error.schema}.{view.name}: {' '.join(view.definition.split())}"
    view = current.view(error.schema, error.table) if error.table and error.kind == "index" else None
    if view is not None:
        index = next((i for i in view.indexes if i.name == error.name), None)
        return None if index is None else index.definition
    if error.kind == "domain":
        domain = next((d for d in current.domains if d.key == (error.schema, error.name)), None)
        return None if domain is None else f"domain {error.schema}.{domain.name} ({domain.type})"
    if error.kind in ("function", "procedure"):
        live = [r for r in current.routines if (r.schema, r.name) == (error.schema, error.name)]
        return "; ".join(f"{r.kind} {r.schema}.{r.name}({r.arguments})" for r in live) or None
    table = current.table(error.schema, error.table) if error.table else None
    if table is None or not error.name:
        return None
    if error.kind == "index":
        index = next((i for i in table.indexes if i.name == error.name), None)
        return None if index is None else index.definition or f"index {index.name} ({', '.join(index.keys)})"
    if error.kind == "constraint":
        return _constraint(table, error.name)
    return None


def _constraint(table: Table, name: str) -> str | None:
    where = f"on {table.qualified}"
    if table.primary_key is not None and table.primary_key.name == name:
        return f"constraint {name} {where}: PRIMARY KEY ({', '.join(table.primary_key.columns)})"
    for u in table.uniques:
        if u.name == name:
            return f"constraint {name} {where}: UNIQUE ({', '.join(u.columns)})"
    for f in table.foreign_keys:
        if f.name == name:
            return (
                f"constraint {name} {where}: FOREIGN KEY ({', '.join(f.columns)}) REFERENCES "
                f"{f.ref_schema}.{f.ref_table} ({', '.join(f.ref_columns)})"
            )
    for c in table.checks:
        if c.name == name:
            return f"constraint {name} {where}: CHECK {c.expression}"
    return None
