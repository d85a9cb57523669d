"""A small blog app in three versions, for the history and migration tests."""

from __future__ import annotations

import sys
import textwrap
import types
import uuid
from pathlib import Path

from sqlalchemy import MetaData

MODELS_V1 = """
from sqlalchemy import ForeignKey, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention={"ix": "ix_%(table_name)s_%(column_0_name)s"})


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200))


class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
"""

# 1.1.0: a new table and a new column with a default.
MODELS_V2 = (
    MODELS_V1.replace(
        "    email: Mapped[str] = mapped_column(String(200))\n",
        "    email: Mapped[str] = mapped_column(String(200))\n"
        '    bio: Mapped[str] = mapped_column(Text, server_default="")\n',
    )
    + """

class Tag(Base):
    __tablename__ = "tags"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
"""
)

# 1.2.0: posts.body dropped, an index on users.email, bio loses its default.
MODELS_V3 = (
    MODELS_V2.replace("    body: Mapped[str | None] = mapped_column(Text)\n", "")
    .replace(
        "email: Mapped[str] = mapped_column(String(200))", "email: Mapped[str] = mapped_column(String(200), index=True)"
    )
    .replace('bio: Mapped[str] = mapped_column(Text, server_default="")', "bio: Mapped[str] = mapped_column(Text)")
)


def metadata_of(models: str) -> MetaData:
    """The MetaData of a models source, imported fresh (each call gets its own declarative base)."""
    module = types.ModuleType(f"blogmodels_{uuid.uuid4().hex[:8]}")
    sys.modules[module.__name__] = module  # SQLAlchemy resolves annotations through the module
    exec(compile(textwrap.dedent(models), "blogmodels.py", "exec"), module.__dict__)
    return module.Base.metadata  # type: ignore[attr-defined,no-any-return]


def write_project(root: Path, version: str, models: str, extra: str = "") -> Path:
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "blog"\nversion = "{version}"\n\n[tool.schemasync]\nmodels = "blogmodels:Base"\n{extra}'
    )
    (root / "blogmodels.py").write_text(textwrap.dedent(models))
    return root
