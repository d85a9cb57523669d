"""The independent look (run in the corpus environment): Alembic's autogenerate comparison, not ours.

Usage: python look.py URL MODELS. Prints a JSON list of [operation, table, name] for every difference
Alembic's comparators find between the database and the models: tables, columns, types, nullability,
indexes, unique constraints and foreign keys. Server defaults are left to our own comparison (Alembic
compares them by evaluating both sides, which reports every volatile default such as
gen_random_uuid() as changed). Objects a model confines to another dialect (`ddl_if(dialect=...)`)
and schemasync's own bookkeeping tables are not the app's PostgreSQL schema and are skipped.
"""

from __future__ import annotations

import importlib
import json
import sys
import warnings
from typing import Any


def _metadata(spec: str) -> Any:
    module_name, _, attr = spec.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        target = getattr(target, part)
    return getattr(target, "metadata", target)


def _for_postgresql(obj: Any) -> bool:
    ddl_if = getattr(obj, "_ddl_if", None)
    return ddl_if is None or ddl_if.dialect is None or ddl_if.dialect == "postgresql"


def _include(obj: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
    if kind == "table" and name in ("schema_versions", "schema_snapshots"):
        return False
    return _for_postgresql(obj) and (compare_to is None or _for_postgresql(compare_to))


def _describe(diff: Any) -> list[str]:
    if isinstance(diff, list):  # column modifications come as a list of tuples for one column
        op, _, table, column = diff[0][:4]
        return [op, table, column]
    op, obj = diff[0], diff[1]
    if op.endswith("_table"):
        return [op, obj.name, ""]
    if op.endswith("_column"):
        return [op, diff[2], diff[3].name]
    table = obj.table.name if getattr(obj, "table", None) is not None else ""
    return [op, table, obj.name or "(unnamed)"]


def main(url: str, spec: str) -> None:
    import sqlalchemy as sa
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    sys.path.insert(0, ".")
    metadata = _metadata(spec)
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with warnings.catch_warnings(), engine.connect() as conn:
            warnings.simplefilter("ignore")  # reflection warnings about expression indexes
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": False, "include_object": _include}
            )
            diffs = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    print(json.dumps(sorted(_describe(d) for d in diffs)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
