"""Golden plans: one folder per case under `tests/engine/golden/`, reviewed as SQL (see its README.md).

Each case builds a fresh database from `before.sql`, loads `models.py` the way the CLI does (the
`models` setting, `engine.load_models`, `engine.prepare`: the path `schemasync diff --sql` takes),
and compares the plan, rendered exactly as `diff --sql` prints it (hazards as comments), with
`expected.sql`. Then it applies the plan, diffs again and expects nothing left: a plan that reads
well but does not converge fails here too. `--regen-golden` rewrites `expected.sql` from the current
engine instead of comparing, so a change of plans is reviewed as a `git diff` of SQL files.
"""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from schemasync import db, engine
from schemasync.apply import apply
from schemasync.config import Settings, load_settings
from schemasync.plan import HazardKind
from tests.conftest import TestDB

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

    @classmethod
    def load(cls, folder: Path) -> Case:
        data = tomllib.loads((folder / "case.toml").read_text())
        unknown = set(data) - {"description", "options", "empty", "left_alone"}
        assert not unknown, f"{folder.name}/case.toml: unknown keys {sorted(unknown)}"
        options = data.get("options", {})
        assert set(options) <= OPTIONS, f"{folder.name}/case.toml: options may be {sorted(OPTIONS)}"
        return cls(folder, data["description"], options, data.get("empty", False), tuple(data.get("left_alone", ())))


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


@pytest.mark.parametrize("folder", CASES, ids=[p.name for p in CASES])
def test_golden_plan(pg: TestDB, folder: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
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
