"""The models as the user names them: import `module:attribute`, and read their rename hints.

A user's models module is input like any other, so every way importing it can fail (not found, a
syntax error, an exception or a missing dependency while importing, a missing attribute, an
attribute of the wrong kind) becomes a `ConfigError` with one paragraph saying what and where, and a
hint, never a traceback. Imported through `schema/target.py`, which re-exports both functions.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from schemasync.errors import ConfigError
from schemasync.schema.model import RenameHints

if TYPE_CHECKING:
    from sqlalchemy import MetaData

DEFAULT_SCHEMA = "public"  # where tables with schema=None live


def load_models(spec: str, project_dir: Path) -> MetaData:
    """Import `module:attribute` (the project directory first on sys.path) and return its MetaData.

    The attribute may be a MetaData or anything with a `.metadata` (a declarative base); a dotted
    attribute path (`app.db:Base.metadata`) works too. Every failure is a ConfigError, never a
    traceback: the user's module is input like any other.
    """
    from sqlalchemy import MetaData  # lazy: start-up (SQLAlchemy; only with models)

    module_name, sep, attr_path = spec.strip().partition(":")
    if not sep or not module_name or not attr_path or not all(p.isidentifier() for p in module_name.split(".")):
        raise ConfigError(
            f"The models setting {spec!r} is not of the form module:attribute.",
            "Name the module and the MetaData or declarative base in it, for example myapp.models:Base.",
        )
    where = str(project_dir)
    project = project_dir.resolve()
    _forget_foreign_module(module_name, project)
    sys.path[:] = [str(project)] + [p for p in sys.path if p not in (where, str(project))]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (module_name == missing or module_name.startswith(missing + ".")):
            raise ConfigError(
                f"The models module {module_name!r} (from models = {spec!r}) was not found in {where} or on the Python path.",
                "Check the module name, run schemasync from the project directory (or pass --project-dir), "
                "and make sure the package has an __init__.py if it needs one.",
            ) from None
        raise ConfigError(
            f"Importing the models module {module_name!r} failed: it imports {missing!r}, which is not installed"
            f"{_origin(exc, project)}.",
            f"Install {missing!r} in the environment schemasync runs in, or fix the import.",
        ) from None
    except SyntaxError as exc:
        raise ConfigError(
            f"The models module {module_name!r} has a syntax error: {exc.msg} ({exc.filename}, line {exc.lineno}).",
            "Fix the syntax error; `python -c 'import " + module_name + "'` shows the same problem.",
        ) from None
    except (Exception, SystemExit) as exc:
        raise ConfigError(
            f"Importing the models module {module_name!r} raised {type(exc).__name__}: {first_line(exc)}{_origin(exc, project)}.",
            f"Fix the error in the module; `python -c 'import {module_name}'` from {where} shows the full traceback.",
        ) from None
    target: Any = module
    for part in attr_path.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ConfigError(
                f"The models module {module_name!r} has no attribute {attr_path!r} (models = {spec!r}).",
                "Name the MetaData or the declarative base defined in that module, for example "
                f"{module_name}:Base or {module_name}:metadata.",
            ) from None
    if isinstance(target, MetaData):
        return target
    metadata = getattr(target, "metadata", None)
    if isinstance(metadata, MetaData):
        return metadata
    raise ConfigError(
        f"{spec} is of type {type(target).__name__}, not a SQLAlchemy MetaData or declarative base.",
        f"Point the models setting at the MetaData or the declarative base class, for example {module_name}:Base.",
    )


def _forget_foreign_module(module_name: str, project: Path) -> None:
    """Drop a same-named module imported earlier from another project, so this project's is loaded."""
    parts = module_name.split(".")
    for i in range(len(parts), 0, -1):
        name = ".".join(parts[:i])
        loaded = sys.modules.get(name)
        file = getattr(loaded, "__file__", None)
        if loaded is not None and file and not Path(file).resolve().is_relative_to(project):
            for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
                del sys.modules[key]


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"


def _origin(exc: BaseException, project: Path) -> str:
    """' (models.py, line 12)': the innermost frame in the project, else the innermost one of ours."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<")]
    in_project = [f for f in frames if Path(f.filename).resolve().is_relative_to(project)]
    candidates = in_project or [f for f in frames if "importlib" not in f.filename]
    return f" ({candidates[-1].filename}, line {candidates[-1].lineno})" if candidates else ""


# -- rename hints --------------------------------------------------------------------------------


def rename_hints(metadata: MetaData) -> RenameHints:
    """Renames declared with `info={"renamed_from": "old"}` on Tables and Columns."""
    tables: list[tuple[str, str, str]] = []
    columns: list[tuple[str, str, str, str]] = []
    for table in metadata.tables.values():
        schema = table.schema or DEFAULT_SCHEMA
        old = _renamed_from(table.info, f"table {schema}.{table.name}")
        if old is not None and old != table.name:
            tables.append((schema, table.name, old))
        for column in table.columns:
            old = _renamed_from(column.info, f"column {schema}.{table.name}.{column.name}")
            if old is not None and old != column.name:
                columns.append((schema, table.name, column.name, old))
    return RenameHints(tuple(sorted(tables)), tuple(sorted(columns)))


def _renamed_from(info: dict[str, Any], what: str) -> str | None:
    value = info.get("renamed_from")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f'The rename hint on {what} is {value!r}; info={{"renamed_from": ...}} must be the old name as a string.',
            'Write the previous name, for example info={"renamed_from": "old_name"}, or remove the hint.',
        )
    return value
