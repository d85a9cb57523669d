"""Plan and apply models against a test database through the library, as the CLI and flows do."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from sqlalchemy import MetaData

from schemasync import db, engine
from schemasync.apply import Applied, apply
from schemasync.config import Settings, load_settings
from schemasync.diff import analyse
from schemasync.history import versions
from schemasync.plan import HazardKind
from schemasync.schema.inspect import inspect
from schemasync.schema.model import RenameHints, Schema, Table
from schemasync.schema.target import desired, rename_hints
from tests.conftest import TestDB

ALL = frozenset(HazardKind)


def settings_for(pg: TestDB, tmp: Path | None = None, **overrides: object) -> Settings:
    project = tmp or Path(tempfile.gettempdir())
    settings = load_settings({"database_url": pg.url, "project_dir": str(project)}, environ={}).settings
    return settings.model_copy(update=overrides)


def models(pg: TestDB, metadata: MetaData) -> engine.Models:
    with pg.connect() as conn:
        return engine.Models(desired(conn, metadata, cache_dir=None), rename_hints(metadata))


def prepare(
    pg: TestDB, metadata: MetaData, *, hints: RenameHints = RenameHints(), **overrides: object
) -> engine.Prepared:
    settings = settings_for(pg, **overrides)
    with pg.connect() as conn:
        return engine.prepare(conn, settings, models=models(pg, metadata), extra_hints=hints)


def sync(
    pg: TestDB,
    metadata: MetaData,
    *,
    hints: RenameHints = RenameHints(),
    allow: Iterable[HazardKind] = ALL,
    version: str | None = None,
    **overrides: object,
) -> tuple[engine.Prepared, Applied | None]:
    """Plan and apply; returns the prepared plan and what apply reported (None when nothing to do)."""
    settings = settings_for(pg, **overrides)
    with pg.connect() as conn:
        prepared = engine.prepare(conn, settings, models=models(pg, metadata), extra_hints=hints)
        if prepared.plan.empty:
            return prepared, None
        record = versions.Record(version, versions.Status.APPLIED, "test") if version else None
        applied = apply(
            conn,
            db.parse_url(pg.url, "test"),
            prepared.plan,
            settings=settings,
            desired=prepared.desired,
            options=prepared.options,
            allow=allow,
            record=record,
        )
    return prepared, applied


def rediff(pg: TestDB, metadata: MetaData, **overrides: object) -> list[str]:
    prepared = prepare(pg, metadata, **overrides)
    return [type(c).__name__ for c in prepared.diff.changes]


def live(pg: TestDB) -> Schema:
    with pg.connect() as conn:
        return inspect(conn)


def comparable(schema: Schema) -> Schema:
    """Equality as convergence means it: column order aside (PostgreSQL appends added columns), our own
    tables and extension-owned objects aside, and extension versions (the models' side has one only where
    they pin it; tests/engine/test_extensions.py checks versions)."""

    def table(t: Table) -> Table:
        return replace(t, columns=tuple(sorted(t.columns, key=lambda c: c.name)))

    own = {("public", "schema_versions"), ("public", "schema_snapshots")}
    return replace(
        schema,
        tables=tuple(table(t) for t in schema.tables if t.key not in own),
        reported=(),
        extensions=tuple(replace(x, version=None) for x in schema.extensions),
    ).sorted()


def same_as_models(pg: TestDB, metadata: MetaData) -> tuple[Schema, Schema]:
    """(the database, the models materialised) in comparable form; equal when converged."""
    with pg.connect() as conn:
        return comparable(inspect(conn)), comparable(desired(conn, metadata, cache_dir=None))


def still_differs(pg: TestDB, metadata: MetaData) -> list[str]:
    with pg.connect() as conn:
        return [type(c).__name__ for c in analyse(inspect(conn), desired(conn, metadata, cache_dir=None)).changes]
