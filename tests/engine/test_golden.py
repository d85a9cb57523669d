"""Golden plans: one folder per case under `tests/engine/golden/`, reviewed as SQL (see its README.md).

Each case builds a fresh database from `before.sql`, loads `models.py` the way the CLI does (the
`models` setting, `engine.load_models`, `engine.prepare`: the path `schemasync diff --sql` takes),
and compares the plan, rendered exactly as `diff --sql` prints it (hazards as comments), with
`expected.sql`. Then it applies the plan, diffs again and expects nothing left: a plan that reads
well but does not converge fails here too. Last, `pg_dump --schema-only` of the result must equal that of a
twin built by `create_all()` from the same models (`same_as_create_all`). `--regen-golden` rewrites `expected.sql` from the current
engine instead of comparing, so a change of plans is reviewed as a `git diff` of SQL files.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import tomllib
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData

from schemasync import db, engine
from schemasync.apply import apply
from schemasync.codegen.declarations import split_type
from schemasync.config import Settings, load_settings
from schemasync.diff import changes as c
from schemasync.diff.grants import default_text
from schemasync.diff.unmanaged import Unmanaged, grant_text
from schemasync.plan import HazardKind
from schemasync.plan.comments import comment_target
from schemasync.plan.grants import plan_revoke, plan_revoke_default
from schemasync.plan.sql import ident
from schemasync.schema.model import Schema
from tests.conftest import TestDB, drop_database, make_database, url_for
from tests.engine.schema_helpers import create_all
from tests.engine.test_pg_dump_equal import schema_dump

GOLDEN = Path(__file__).resolve().parent / "golden"
EMPTY = "-- The database matches the models."  # what `diff --sql` prints for an empty plan
OPTIONS = frozenset({"prune", "concurrent_indexes", "online", "owner"})  # the `diff` flags and settings a case may set


@dataclass(frozen=True)
class Case:
    """A case folder's `case.toml`: what the reviewer declares, never rewritten by `--regen-golden`."""

    folder: Path
    description: str
    options: dict[str, Any] = field(default_factory=dict)
    empty: bool = False  # the plan must be empty and `check` must say "in sync"
    left_alone: tuple[str, ...] = ()  # objects the models do not declare, reported and kept (without prune)
    # lines in which the synced database's pg_dump legitimately differs from create_all's twin, with why
    dump_differences: tuple[tuple[str, str], ...] = ()

    @classmethod
    def load(cls, folder: Path) -> Case:
        data = tomllib.loads((folder / "case.toml").read_text())
        unknown = set(data) - {"description", "options", "empty", "left_alone", "dump_differences"}
        assert not unknown, f"{folder.name}/case.toml: unknown keys {sorted(unknown)}"
        options = data.get("options", {})
        assert set(options) <= OPTIONS, f"{folder.name}/case.toml: options may be {sorted(OPTIONS)}"
        differences = tuple((d["line"], d["reason"]) for d in data.get("dump_differences", ()))
        assert all(line[:1] in "+-" and reason.strip() for line, reason in differences), (
            f"{folder.name}/case.toml: each dump difference is a line starting with + or -, and a reason"
        )
        return cls(
            folder,
            data["description"],
            options,
            data.get("empty", False),
            tuple(data.get("left_alone", ())),
            differences,
        )


CASES = sorted(p for p in GOLDEN.iterdir() if (p / "case.toml").is_file())


def settings_for(pg: TestDB, project: Path, case: Case) -> Settings:
    flags = {"database_url": pg.url, "project_dir": str(project), "models": "models:metadata", **case.options}
    return load_settings(flags, environ={}).settings


def test_there_are_enough_cases_and_every_folder_is_one() -> None:
    folders = sorted(p for p in GOLDEN.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    assert folders == CASES, "every folder under golden/ needs a case.toml"
    for folder in folders:
        assert (folder / "models.py").is_file(), f"{folder.name} has no models.py"
    assert len(CASES) >= 20


# Emptied between cases instead of dropped: DROP DATABASE forces a checkpoint (0.5 to 1 s each, most of what the
# twin would cost). Every non-system schema goes, extensions with them, and `public` is made again as initdb has it;
# the twin's dump must then equal that of the database when it was new, so nothing a case built can linger.
_EMPTY_TWIN = """
DO $$ DECLARE s text; BEGIN
  FOR s IN SELECT nspname FROM pg_catalog.pg_namespace
           WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_%' LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', s);
  END LOOP;
  FOR s IN SELECT extname FROM pg_catalog.pg_extension WHERE extname <> 'plpgsql' LOOP
    EXECUTE format('DROP EXTENSION %I CASCADE', s);
  END LOOP;
END $$;
CREATE SCHEMA public AUTHORIZATION pg_database_owner;
COMMENT ON SCHEMA public IS 'standard public schema';
GRANT USAGE ON SCHEMA public TO PUBLIC;
"""


@pytest.fixture(scope="session")
def twin_db() -> Iterator[tuple[TestDB, str]]:
    """One twin database per test process, and its dump when new (what emptying it must bring back)."""
    name = make_database()
    twin = TestDB(name, url_for(name))
    try:
        yield twin, schema_dump(twin)
    finally:
        drop_database(name)


@pytest.mark.parametrize("folder", CASES, ids=[p.name for p in CASES])
def test_golden_plan(
    pg: TestDB, folder: Path, tmp_path: Path, request: pytest.FixtureRequest, twin_db: tuple[TestDB, str]
) -> None:
    case = Case.load(folder)
    before = folder / "before.sql"
    if before.is_file():
        pg.execute(before.read_text())
    # The models are imported from a scratch project directory: the engine caches beside its models.
    shutil.copy(folder / "models.py", tmp_path / "models.py")
    settings = settings_for(pg, tmp_path, case)
    with pg.connect() as conn:
        models = engine.load_models(conn, settings, reuse=True)
        prepared = engine.prepare(conn, settings, models=models)
    rendered = prepared.plan.sql() if not prepared.plan.empty else EMPTY

    expected = folder / "expected.sql"
    if request.config.getoption("regen_golden"):
        expected.write_text(rendered + "\n")
    assert expected.is_file(), f"{folder.name}/expected.sql is missing: run with --regen-golden and review it"
    assert rendered + "\n" == expected.read_text(), "the plan changed: run with --regen-golden and review the git diff"
    assert all(h.probe is None for h in prepared.plan.hazards), "every hazard's rows were counted"
    assert sorted(u.describe() for u in prepared.diff.unmanaged) == sorted(case.left_alone)
    assert not prepared.model_errors and not prepared.unmanaged_declared
    if case.empty:
        assert prepared.matches, "the case expects the database to be in sync with the models"
        same_as_create_all(pg, twin_db, case, tmp_path / "models.py", prepared.diff, before=prepared.diff.source)
        return
    assert not prepared.plan.empty, "a case with changes must plan some (or say empty = true)"

    with pg.connect() as conn:
        apply(
            conn,
            db.parse_url(pg.url, "test"),
            prepared.plan,
            settings=settings,
            desired=prepared.desired,
            options=prepared.options,
            allow=frozenset(HazardKind),
        )
        again = engine.prepare(conn, settings, models=models)
    assert again.diff.changes == (), f"not converged: {[type(c).__name__ for c in again.diff.changes]}"
    assert again.plan.empty
    # What was left alone still is (and nothing the plan added or replaced is left beside it).
    assert sorted(u.describe() for u in again.diff.unmanaged) == sorted(case.left_alone)
    same_as_create_all(pg, twin_db, case, tmp_path / "models.py", again.diff, before=prepared.diff.source)


# -- the independent look: pg_dump of the synced database against create_all's twin ------------------------


def same_as_create_all(
    pg: TestDB, twin_db: tuple[TestDB, str], case: Case, models: Path, diff: Any, *, before: Schema
) -> None:
    """`pg_dump --schema-only` of the synced database equals that of a twin built by `create_all()` (with the
    models' DDL events) from the same models: a look at the result that none of our code rendered.

    What the case leaves alone is removed from the synced database first, one named object at a time
    (`_undo`), so nothing else can hide behind it. A table that existed before the plan keeps its columns in
    the order they were added (ADD COLUMN appends), so its column lines are compared as a set; every other
    line, and the column order of a table the plan created, exactly (statements as a set: pg_dump orders them
    by name). What still differs must be listed, line
    for line with a reason, in the case's `dump_differences`, and every listed line must still differ."""
    with pg.connect() as conn:
        for statement in (_undo(u, diff.source) for u in sorted(diff.unmanaged, key=_undo_rank)):
            conn.execute(statement)
    twin, new = twin_db
    try:
        metadata = _metadata(models)
        schemas = tuple(sorted({t.schema for t in metadata.tables.values() if t.schema} - {"public"}))
        create_all(twin, metadata, schemas=schemas)
        existed = {t.key for t in before.tables}
        synced, built = _normal(schema_dump(pg), existed), _normal(schema_dump(twin), existed)
    finally:
        twin.execute(_EMPTY_TWIN)
    assert schema_dump(twin) == new, "the twin was not emptied completely"
    differing = Counter({k: v for k, v in _difference(synced, built).items() if v})
    expected = Counter(line for line, _ in case.dump_differences)
    assert differing == expected, (
        "pg_dump of the synced database differs from create_all's twin (+ only synced, - only the twin); "
        "fix the engine, or list a legitimate difference with its reason in dump_differences:\n"
        + "\n".join(sorted((differing - expected).elements()))
        + "\nlisted in dump_differences but no longer differing (remove them):\n"
        + "\n".join(sorted((expected - differing).elements()))
    )
    # every other line in the same statement (a column in its table): statements compared as a set, since
    # pg_dump orders them by name and a listed difference may be a name
    assert _statements(_without(synced, expected, "+")) == _statements(_without(built, expected, "-"))


def _statements(text: str) -> Counter[str]:
    out: Counter[str] = Counter()
    current: list[str] = []
    for line in text.splitlines():
        current.append(line)
        if line.endswith(";"):
            out["\n".join(current)] += 1
            current = []
    out["\n".join(current)] += 1
    return out


def _difference(synced: str, built: str) -> Counter[str]:
    ours, theirs = Counter(synced.splitlines()), Counter(built.splitlines())
    return Counter({f"+{k}": v for k, v in (ours - theirs).items()}) + Counter(
        {f"-{k}": v for k, v in (theirs - ours).items()}
    )


def _without(text: str, lines: Counter[str], sign: str) -> str:
    """`text` without one occurrence of each listed line of that sign (the rest compared in order)."""
    left = Counter({k[1:]: v for k, v in lines.items() if k.startswith(sign)})
    out = []
    for line in text.splitlines():
        if left[line] > 0:
            left[line] -= 1
            continue
        out.append(line)
    return "\n".join(out)


_CREATE_TABLE = re.compile(r"^CREATE (?:UNLOGGED )?TABLE (?P<name>.+) \($")


def _normal(dump: str, existed: set[tuple[str, str]]) -> str:
    """The dump with the column lines of each table that existed before the plan in name order."""
    out: list[str] = []
    block: list[str] | None = None
    for line in dump.splitlines():
        if block is not None:
            if line.startswith("    "):
                block.append(line.rstrip(","))
                continue
            out += sorted(block)
            block = None
        found = _CREATE_TABLE.match(line)
        out.append(line)
        if found:
            parts = split_type(found["name"])
            if parts is not None and parts[:2] in existed:
                block = []
    if block is not None:
        out += sorted(block)
    return "\n".join(out)


def _metadata(models: Path) -> MetaData:
    """The case's `metadata`, imported from its file under a module name of its own."""
    spec = importlib.util.spec_from_file_location(f"golden_twin_{uuid.uuid4().hex}", models)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.metadata  # type: ignore[no-any-return]


def _undo_rank(u: Unmanaged) -> int:
    """Users before what they use: comments and privileges first, then triggers and policies, then views,
    indexes and constraints (which may call functions), then functions, then tables and types."""
    if u.kind.endswith((" comment", "privilege")):
        return 0
    ranks = {"trigger": 1, "policy": 1, "view": 2, "materialized view": 2, "function": 4, "procedure": 4}
    return ranks.get(u.kind, 3 if u.kind == "index" or u.kind.endswith("constraint") else 5)


def _undo(u: Unmanaged, schema: Schema) -> str:
    """The statement removing one thing the case leaves alone (an object, or a property back to its default)."""
    table = ident(u.schema, u.table) if u.table else ""
    key = u.note.split("=")[0]
    match u.kind:
        case "check constraint" | "foreign key" | "unique constraint" | "exclusion constraint":
            return f"ALTER TABLE {table} DROP CONSTRAINT {ident(u.name)}"
        case "column":
            return f"ALTER TABLE {table} DROP COLUMN {ident(u.name)}"
        case "column comment":
            return f"COMMENT ON COLUMN {table}.{ident(u.name)} IS NULL"
        case "column collation":
            found = schema.table(u.schema, u.table or "")
            column = found.column(u.name) if found else None
            assert column is not None, u.describe()
            return f"ALTER TABLE {table} ALTER COLUMN {ident(u.name)} TYPE {column.type}"
        case "table comment":
            return f"COMMENT ON TABLE {ident(u.schema, u.name)} IS NULL"
        case "storage parameter":
            return f"ALTER TABLE {table} RESET ({ident(u.name)})"
        case "index storage parameter":
            return f"ALTER INDEX {ident(u.schema, u.name)} RESET ({ident(key)})"
        case "index":
            return f"DROP INDEX {ident(u.schema, u.name)}"
        case "table" | "partition":
            return f"DROP TABLE {ident(u.schema, u.name)}"
        case "view" | "materialized view":
            return f"DROP {u.kind.upper()} {ident(u.schema, u.name)}"
        case "composite type":
            return f"DROP TYPE {ident(u.schema, u.name)}"
        case "domain":
            return f"DROP DOMAIN {ident(u.schema, u.name)}"
        case "extension":
            return f"DROP EXTENSION {ident(u.name)}"
        case "function" | "procedure":
            name, _, arguments = u.name.partition("(")
            return f"DROP {u.kind.upper()} {ident(u.schema, name)}({arguments}"
        case "trigger" | "policy":
            return f"DROP {u.kind.upper()} {ident(u.name)} ON {table}"
        case "row security":
            on = ident(u.schema, u.name)
            return f"ALTER TABLE {on} NO FORCE ROW LEVEL SECURITY; ALTER TABLE {on} DISABLE ROW LEVEL SECURITY"
        case "range type":
            return f"DROP TYPE {ident(u.schema, u.name)}"
        case "privilege":
            (grant,) = [g for g in schema.grants if g.schema == u.schema and grant_text(g) == u.name]
            return plan_revoke(c.RevokePrivilege(grant, restores=True), None)[0].sql  # type: ignore[arg-type]
        case "default privilege":
            (default,) = [d for d in schema.default_privileges if d.schema == u.schema and default_text(d) == u.name]
            return plan_revoke_default(c.RevokeDefaultPrivilege(default), None)[0].sql  # type: ignore[arg-type]
        case kind if kind.endswith(" comment"):
            kind = kind.removesuffix(" comment")
            name, _, arguments = u.name.partition("(")
            return f"COMMENT ON {comment_target(kind, u.schema, name, u.table or '', arguments[:-1])} IS NULL"
    raise AssertionError(f"no way to remove a left-alone {u.kind} from the synced copy: add one to _undo")
