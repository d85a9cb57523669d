"""Helpers for the inspector / desired-side tests: put models in place, count the statements we send."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import MetaData, create_engine

from tests.conftest import TestDB


def create_all(
    db: TestDB, metadata: MetaData, *, schemas: tuple[str, ...] = (), extensions: tuple[str, ...] = ()
) -> None:
    """What a user does: create the schemas and extensions, then `metadata.create_all()`."""
    with db.connect() as conn:
        for name in extensions:
            conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(name)))
        for name in schemas:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(name)))
    engine = create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(db.url))
    try:
        metadata.create_all(engine)
    finally:
        engine.dispose()


def counting_cursor() -> type[psycopg.Cursor[Any]]:
    """A cursor class that records every statement it executes (a fresh class, so a fresh record)."""

    class CountingCursor(psycopg.Cursor[Any]):
        statements: list[str] = []  # noqa: RUF012

        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:  # type: ignore[override]
            type(self).statements.append(query if isinstance(query, str) else repr(query))
            return super().execute(query, params, **kwargs)

    CountingCursor.statements = []
    return CountingCursor


@contextmanager
def counted(db: TestDB) -> Iterator[tuple[psycopg.Connection, list[str]]]:
    """An autocommit connection whose executed statements are listed in the second item."""
    factory = counting_cursor()
    with psycopg.connect(db.url, autocommit=True, cursor_factory=factory) as conn:
        yield conn, factory.statements


def scratch_schemas(db: TestDB) -> list[str]:
    return [r[0] for r in db.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'ss\\_scratch%' ORDER BY 1")]


def has_extensions(db: TestDB, names: tuple[str, ...]) -> bool:
    """True when the server can install all of `names` (the embedded PostgreSQL has no contrib)."""
    found = db.execute("SELECT name FROM pg_available_extensions WHERE name = ANY(%s)", (list(names),))
    return len(found) == len(names)


def put_rich_model_in_place(db: TestDB) -> tuple[MetaData, bool]:
    """create_all of the rich model (with citext / pg_trgm when the server has them)."""
    from tests.engine import rich_models

    extensions = has_extensions(db, rich_models.EXTENSIONS)
    metadata = rich_models.build(extensions=extensions)
    create_all(db, metadata, schemas=rich_models.SCHEMAS, extensions=rich_models.EXTENSIONS if extensions else ())
    return metadata, extensions
