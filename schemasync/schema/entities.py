"""alembic_utils' replaceable entities (PGView, PGMaterializedView, PGFunction, ...) as part of the models.

Projects that use Alembic often declare their views, functions, triggers, policies, extensions and
grants as alembic_utils entities, registered with `alembic_utils.replaceable_entity.register_entities`
(for Alembic's autogenerate) or simply listed in a module. Both are read here: the registry, when the
models' import has filled it, and the `entities = "module:attr"` setting (a list, tuple or set of
entities, or one entity). Each entity's `to_sql_statement_create()` becomes a DDL event on the
MetaData (`after_create`; an extension's `before_create`, since tables may use its types), so it is
materialised, classified and compared exactly like the models' own DDL events (`schema/target.py`).

alembic_utils is not a dependency of schemasync: the entities are duck-typed (`to_sql_statement_create`,
`schema`, `signature`) and the registry is only read when the models already imported it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from schemasync.errors import ConfigError
from schemasync.schema.loading import first_line

if TYPE_CHECKING:
    from sqlalchemy import MetaData

_ATTACHED = "schemasync_entities"  # MetaData.info key: the entities already attached (a model loaded twice)
_REGISTRY_MODULE = "alembic_utils.replaceable_entity"


def is_entity(value: object) -> bool:
    """Whether `value` looks like an alembic_utils replaceable entity (what we call on it exists)."""
    return callable(getattr(value, "to_sql_statement_create", None)) and hasattr(value, "signature")


def registered() -> list[Any]:
    """The entities registered with alembic_utils' `register_entities`, if the models imported it."""
    module = sys.modules.get(_REGISTRY_MODULE)
    registry = getattr(module, "registry", None)
    entities = getattr(registry, "entities", None)
    return list(entities()) if callable(entities) else []


def from_setting(spec: str, project_dir: Path) -> list[Any]:
    """The entities `module:attr` names (the project directory first on sys.path, as for the models)."""
    module_name, sep, attr_path = spec.strip().partition(":")
    if not sep or not module_name or not attr_path or not all(p.isidentifier() for p in module_name.split(".")):
        raise ConfigError(
            f"The entities setting {spec!r} is not of the form module:attribute.",
            "Name the module and the list of alembic_utils entities in it, for example myapp.entities:ENTITIES.",
        )
    project = str(project_dir.resolve())
    if project not in sys.path:
        sys.path.insert(0, project)
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:  # the user's module is input: every failure becomes one paragraph
        raise ConfigError(
            f"Importing the entities module {module_name!r} (entities = {spec!r}) failed: "
            f"{type(exc).__name__}: {first_line(exc)}.",
            f"Fix the module; `python -c 'import {module_name}'` from {project_dir} shows the full traceback.",
        ) from None
    for part in attr_path.split("."):
        if not hasattr(target, part):
            raise ConfigError(
                f"The entities module {module_name!r} has no attribute {attr_path!r} (entities = {spec!r}).",
                "Name the list of alembic_utils entities defined in that module.",
            )
        target = getattr(target, part)
    items = [target] if is_entity(target) else target
    if isinstance(items, str | bytes) or not isinstance(items, Iterable):
        raise ConfigError(
            f"entities = {spec!r} is of type {type(target).__name__}, not an alembic_utils entity or a list of them.",
            "Point the setting at a list (or tuple) of PGView, PGMaterializedView, PGFunction, ... objects.",
        )
    items = list(items)
    for item in items:
        if not is_entity(item):
            raise ConfigError(
                f"entities = {spec!r} holds {type(item).__name__} {str(item)[:60]!r}, which is not an alembic_utils "
                "entity (it has no to_sql_statement_create()).",
                "List only alembic_utils entities (PGView, PGMaterializedView, PGFunction, PGTrigger, PGPolicy, "
                "PGExtension, PGGrantTable) in that setting.",
            )
    return items


def create_sql(entity: Any) -> str:
    """The entity's CREATE statement as plain SQL (alembic_utils returns a `text()` clause with escaped colons)."""
    from sqlalchemy.dialects import postgresql  # lazy: start-up (SQLAlchemy; only with models)

    if type(entity).__name__ == "PGGrantTable":
        return _grant_table_sql(entity)
    clause = entity.to_sql_statement_create()
    text = clause if isinstance(clause, str) else str(clause.compile(dialect=postgresql.dialect(paramstyle="named")))
    return text.strip().rstrip(";").strip()


def _grant_table_sql(entity: Any) -> str:
    """A `PGGrantTable`'s GRANT, its column list quoted: alembic_utils writes the columns bare (`SELECT ( Body,
    id )`), which folds a mixed-case name to lower case and breaks on one that needs quotes. The entity holds
    every name unquoted, as the catalog does."""

    def quoted(name: str) -> str:
        return '"' + str(name).replace('"', '""') + '"'

    grant = str(getattr(entity.grant, "value", entity.grant)).upper()
    columns = list(entity.columns or ())
    privilege = f"{grant} ({', '.join(quoted(c) for c in columns)})" if columns else grant
    option = " WITH GRANT OPTION" if entity.with_grant_option else ""
    on = f"{quoted(entity.schema)}.{quoted(entity.table)}"
    return f"GRANT {privilege} ON TABLE {on} TO {quoted(entity.role)}{option}"


def attach(metadata: MetaData, spec: str | None, project_dir: Path) -> int:
    """Add the registered and configured entities to `metadata` as DDL events; how many were added.

    Idempotent per MetaData (keyed by the entity's identity), so importing the models once and looking
    twice never creates an entity twice.
    """
    from sqlalchemy import DDL, event  # lazy: start-up (SQLAlchemy; only with models)

    entities = registered() + (from_setting(spec, project_dir) if spec else [])
    done: set[str] = metadata.info.setdefault(_ATTACHED, set())
    added = 0
    for entity in entities:
        identity = str(getattr(entity, "identity", None) or f"{type(entity).__name__}:{entity.signature}")
        if identity in done:
            continue
        done.add(identity)
        # DDL() formats its text with %(table)s-style substitutions: a literal % must be doubled.
        ddl = DDL(create_sql(entity).replace("%", "%%"))
        when = "before_create" if type(entity).__name__ == "PGExtension" else "after_create"
        event.listen(metadata, when, ddl)
        added += 1
    return added
