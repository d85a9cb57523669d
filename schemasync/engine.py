"""The pipeline every consumer runs: settings + connection -> current, desired, diff, plan.

The CLI (`diff`, `check`, `sync`, `status`) and the Prefect tasks call `prepare`, so all of them see
the same plan for the same database and models. Applying it is `schemasync.apply`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from schemasync import cycles
from schemasync.config import Settings
from schemasync.diff import CompareOptions, Diff, analyse
from schemasync.diff.held import HeldError, hold
from schemasync.errors import ConfigError
from schemasync.plan import make_plan
from schemasync.plan.facts import measure as measure_facts
from schemasync.schema import devdb, entities, recall, target
from schemasync.schema.inspect import inspect
from schemasync.schema.model import DeclaredUnmanaged, RenameHints, Schema

if TYPE_CHECKING:
    from sqlalchemy import MetaData

    from schemasync.plan import Plan

log = logging.getLogger(__name__)

CACHE_DIR = Path(".schemasync") / "cache"
NO_HINTS = RenameHints()


@dataclass(frozen=True, slots=True)
class Models:
    """What the models ask for: the desired schema and the renames they declare."""

    desired: Schema
    hints: RenameHints = field(default_factory=RenameHints)


@dataclass(frozen=True, slots=True)
class Prepared:
    current: Schema
    desired: Schema  # with the objects behind model errors held at their live state (`diff/held.py`)
    options: CompareOptions
    diff: Diff
    plan: Plan
    model_errors: tuple[HeldError, ...] = ()  # declared objects PostgreSQL refused, with their live counterpart

    @property
    def in_sync(self) -> bool:
        """The plan has nothing to do: every object schemasync could compare agrees."""
        return self.diff.empty

    @property
    def unmanaged_declared(self) -> tuple[DeclaredUnmanaged, ...]:
        return self.desired.unmanaged_declared

    @property
    def complete(self) -> bool:
        """Nothing the models declare was left out (a model error) or is beyond schemasync (unmanaged)."""
        return not self.model_errors and not self.unmanaged_declared

    @property
    def matches(self) -> bool:
        """What `check` calls "in sync": no difference, and nothing declared left uncompared."""
        return self.in_sync and self.complete


def require_models(settings: Settings) -> None:
    """Fail early, before connecting, when no models are configured."""
    if not settings.models:
        raise ConfigError(
            "No models are configured, so there is nothing to compare the database with.",
            "Set models = 'package.module:Base' under [tool.schemasync] in pyproject.toml, "
            "SCHEMASYNC_MODELS, or pass --models.",
        )


def load_metadata(settings: Settings) -> MetaData:
    require_models(settings)
    assert settings.models is not None
    metadata = target.load_models(settings.models, settings.project_dir)
    entities.attach(metadata, settings.entities, settings.project_dir)  # alembic_utils entities, as DDL events
    return metadata


def load_models(
    conn: psycopg.Connection, settings: Settings, metadata: MetaData | None = None, *, reuse: bool = False
) -> Models:
    """The models' schema as PostgreSQL renders it (cached under .schemasync/cache by DDL hash).

    Materialised in the dev database `schema/devdb.py` chooses (one query on the target says which),
    so the target itself needs only read privileges. With `reuse` (read-only looks: status, check,
    diff), the models are not even imported when nothing their last import read has changed, and the
    dev database choice is the same (`schema/recall.py`). Without `metadata`, the import happens here,
    tracked, so the next look can reuse it.
    """
    with cycles.paused():
        return _load_models(conn, settings, metadata, reuse=reuse)


def _load_models(conn: psycopg.Connection, settings: Settings, metadata: MetaData | None, *, reuse: bool) -> Models:
    cache = settings.project_dir / CACHE_DIR
    dev = devdb.choose(conn, settings)
    context = dev.key_material()
    if reuse and metadata is None and settings.models:
        recalled = recall.recall(cache, conn, _recall_name(settings), settings.project_dir, context=context)
        if recalled is not None:
            warn(recalled.desired)
            return Models(recalled.desired, recalled.hints)
    inputs = None
    if metadata is None:
        with recall.tracking() as inputs:
            metadata = load_metadata(settings)
    desired, key = target.desired_keyed(conn, metadata, cache_dir=cache, dev=dev)
    warn(desired)
    hints = target.rename_hints(metadata)
    if inputs is not None and settings.models:
        recall.remember(
            cache,
            conn,
            models=_recall_name(settings),
            project_dir=settings.project_dir,
            key=key,
            hints=hints,
            inputs=inputs,
            context=context,
        )
    return Models(desired, hints)


def _recall_name(settings: Settings) -> str:
    """What the recalled models are keyed by: the models setting, and the entities setting when there is one."""
    assert settings.models is not None
    return f"{settings.models} {settings.entities}" if settings.entities else settings.models


def warn(desired: Schema) -> None:
    """Log what the models got wrong without it being an error, on every look (stored with the schema, so a
    look that recalls the models from the cache warns as the one that compiled them did)."""
    for warning in desired.warnings:
        log.warning("%s.", warning)


def dev_database(conn: psycopg.Connection, settings: Settings) -> str:
    """Where the models are materialised for looks at `conn`, in words (for `status`)."""
    return devdb.choose(conn, settings).describe()


def options_for(settings: Settings, hints: RenameHints = NO_HINTS, *, prune: bool | None = None) -> CompareOptions:
    return CompareOptions(
        prune=settings.prune if prune is None else prune,
        include_schemas=tuple(settings.include_schemas),
        include_tables=tuple(settings.include_tables),
        exclude_tables=tuple(settings.exclude_tables),
        hints=hints,
        owner=settings.owner,
    )


def inspect_current(conn: psycopg.Connection, settings: Settings) -> Schema:
    return inspect(conn, schemas=settings.include_schemas or None)


def prepare(
    conn: psycopg.Connection,
    settings: Settings,
    *,
    models: Models | None = None,
    extra_hints: RenameHints = NO_HINTS,
    prune: bool | None = None,
    concurrent_indexes: bool | None = None,
    measure: bool = True,
) -> Prepared:
    """Inspect, compare, plan and (with `measure`) count the rows behind the hazards. Never writes."""
    with cycles.paused():
        return _prepare(
            conn,
            settings,
            models=models,
            extra_hints=extra_hints,
            prune=prune,
            concurrent_indexes=concurrent_indexes,
            measure=measure,
        )


def _prepare(
    conn: psycopg.Connection,
    settings: Settings,
    *,
    models: Models | None,
    extra_hints: RenameHints,
    prune: bool | None,
    concurrent_indexes: bool | None,
    measure: bool,
) -> Prepared:
    models = models or load_models(conn, settings)
    current = inspect_current(conn, settings)
    options = options_for(settings, models.hints.merged(extra_hints), prune=prune)
    desired, model_errors = hold(models.desired, current)
    diff = analyse(current, desired, options)
    plan = make_plan(
        diff,
        current,
        desired,
        concurrent_indexes=settings.concurrent_indexes if concurrent_indexes is None else concurrent_indexes,
        online=settings.online,
        lock_timeout=settings.lock_timeout,
        statement_timeout=settings.statement_timeout,
    )
    if measure and not plan.empty:
        plan = measure_facts(conn, plan, current, statement_timeout=settings.statement_timeout)
    return Prepared(current, desired, options, diff, plan, model_errors)


def schema_state(conn: psycopg.Connection, settings: Settings) -> dict[str, object] | None:
    """Whether the database matches the models, for `status`; None when no models are configured.

    A models problem is reported in the result (`error`), not raised: status still shows the rest.
    """
    if not settings.models:
        return None
    try:
        where = dev_database(conn, settings)
    except ConfigError as exc:
        where = f"none: {exc.message}"
    try:
        models = load_models(conn, settings, reuse=True)
        prepared = prepare(conn, settings, models=models, measure=False)
    except ConfigError as exc:
        return {
            "models": settings.models,
            "in_sync": None,
            "changes": None,
            "summary": [],
            "error": exc.message,
            "dev_database": where,
        }
    return {
        "models": settings.models,
        "dev_database": where,
        "in_sync": prepared.matches,
        "changes": len(prepared.diff.changes),
        "summary": list(prepared.plan.summary),
        "error": None,
        "model_errors": [e.describe() for e in prepared.model_errors],
        "unmanaged_declared": [u.describe() for u in prepared.unmanaged_declared],
    }
