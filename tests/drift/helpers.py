"""A small app and databases in the three states a drift check tells apart: in sync, drifted, unreachable."""

from __future__ import annotations

import sys
import textwrap
import types
from pathlib import Path

import psycopg

from tests.conftest import TestDB
from tests.fixtures.net import free_port

MODELS = """
from sqlalchemy import ForeignKey, MetaData, Numeric, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention={"uq": "uq_%(table_name)s_%(column_0_name)s"})


class Shop(Base):
    __tablename__ = "shops"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    price: Mapped[float] = mapped_column(Numeric(10, 2))
    note: Mapped[str | None] = mapped_column(Text)
"""
MODELS_SPEC = "driftmodels:Base"
APP_VERSION = "2.0.0"


def make_project(root: Path, *, version: str = APP_VERSION) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "shop"\nversion = "{version}"\n\n[tool.schemasync]\nmodels = "{MODELS_SPEC}"\n'
    )
    (root / "driftmodels.py").write_text(textwrap.dedent(MODELS))
    return root


def _metadata():  # type: ignore[no-untyped-def]
    """The models as a module of their own (SQLAlchemy resolves annotations through the module)."""
    name = "tests_drift_models"
    if name not in sys.modules:
        module = types.ModuleType(name)
        sys.modules[name] = module
        exec(compile(textwrap.dedent(MODELS), name, "exec"), module.__dict__)
    return sys.modules[name].Base.metadata


def _create_all(db: TestDB) -> None:
    """The models' own DDL, so the database matches them exactly."""
    from sqlalchemy import create_engine

    engine = create_engine("postgresql+psycopg://" + db.url.split("://", 1)[1])
    try:
        _metadata().create_all(engine)
    finally:
        engine.dispose()


def record_version(db: TestDB, version: str) -> None:
    from schemasync.history import versions

    with psycopg.connect(db.url) as conn:
        versions.ensure_table(conn, announce=False)
        versions.record(
            conn, versions.Record(schema_version=version, status=versions.Status.APPLIED, environment="test")
        )


def in_sync(db: TestDB, version: str = APP_VERSION) -> TestDB:
    _create_all(db)
    record_version(db, version)
    return db


def drifted(db: TestDB, version: str = "1.9.0") -> TestDB:
    """Two changes from the models: a missing column, and a type whose cast to the models' loses digits."""
    _create_all(db)
    db.execute("ALTER TABLE items DROP COLUMN note")
    db.execute("ALTER TABLE items ALTER COLUMN price TYPE numeric(10, 4)")
    record_version(db, version)
    return db


def unreachable_url() -> str:
    """A PostgreSQL URL on a loopback port nothing listens on: refused at once."""
    return f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
