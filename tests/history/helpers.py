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

# A schema of its own, an enum in it, identity, collation, arrays, a generated column, NULLS NOT DISTINCT,
# a deferrable cross-schema foreign key, gin and INCLUDE indexes, comments.
MODELS_INVENTORY = """
import enum
from decimal import Decimal
from sqlalchemy import CheckConstraint, Computed, Enum, ForeignKey, Identity, Index, MetaData, Numeric, String, Text
from sqlalchemy import UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention={"uq": "uq_%(table_name)s_%(column_0_name)s", "pk": "pk_%(table_name)s",
                                           "fk": "fk_%(table_name)s_%(column_0_name)s", "ck": "ck_%(table_name)s_%(constraint_name)s"})


class Kind(enum.Enum):
    a = "a"
    b = "b"


class Warehouse(Base):
    __tablename__ = "warehouses"
    __table_args__ = {"schema": "inventory", "comment": "places"}
    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(String(10, collation="C"), unique=True)
    kind: Mapped[Kind] = mapped_column(Enum(Kind, name="kind", schema="inventory"), server_default="a")
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("warehouse_id", "sku", postgresql_nulls_not_distinct=True),
        CheckConstraint("price >= 0", name="price_ok"),
        Index("ix_items_meta", "meta", postgresql_using="gin"),
        Index("ix_items_sku_lower", text("lower(sku)"), postgresql_include=["price"]),
        {"schema": "inventory"},
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(
        ForeignKey("inventory.warehouses.id", ondelete="CASCADE", deferrable=True, initially="DEFERRED")
    )
    sku: Mapped[str] = mapped_column(String(40))
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2), comment="in cents")
    total: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), Computed("price * 2", persisted=True))
    meta: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("inventory.items.id"))
    body: Mapped[str] = mapped_column(Text)
"""


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
