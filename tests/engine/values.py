"""Hand-built schema values for tests that need no database."""

from __future__ import annotations

from dataclasses import replace

from schemasync.schema.model import Column, Enum, ForeignKey, Index, PrimaryKey, Schema, Table


def col(name: str, type: str = "integer", **kw: object) -> Column:
    return Column(name, type, **kw)  # type: ignore[arg-type]


def table(name: str, *columns: Column, schema: str = "public", pk: str | None = "id", **kw: object) -> Table:
    if not columns:
        columns = (col("id", nullable=False),)
    key = PrimaryKey(f"{name}_pkey", (pk,)) if pk else None
    return Table(schema, name, tuple(columns), primary_key=key, **kw)  # type: ignore[arg-type]


def schema(*tables: Table, enums: tuple[Enum, ...] = (), **kw: object) -> Schema:
    return Schema(tables=tuple(tables), enums=enums, **kw)  # type: ignore[arg-type]


def users(**kw: object) -> Table:
    return table(
        "users",
        col("id", nullable=False, default="nextval('users_id_seq'::regclass)"),
        col("email", "character varying(320)", nullable=False),
        col("name", "text"),
        **kw,
    )


def posts(**kw: object) -> Table:
    return table(
        "posts",
        col("id", nullable=False, identity="by default"),
        col("user_id"),
        col("title", "text", nullable=False),
        **{
            "foreign_keys": (ForeignKey("posts_user_id_fkey", ("user_id",), "public", "users", ("id",)),),
            "indexes": (Index("ix_posts_user_id", False, "btree", ("user_id",)),),
            **kw,
        },
    )


def with_columns(t: Table, *columns: Column) -> Table:
    return replace(t, columns=tuple(columns))
