"""The real-world corpus (issue 14): well-known applications, each database built by the app's own Alembic history.

For each app (tests/corpus/triage/<app>.toml): migrate a fresh database to head with the app's own tooling,
then `diff --json --prune` against the app's own models must report exactly the hand-triaged genuine
differences (no false report, none missed) and exactly the triaged model errors (object, reason, the
database's definition); `sync --prune --allow-model-errors` must converge (`check --prune` finds nothing
to change, and exits 0, or 2 while the models have errors); and
an independent look (Alembic's comparison, look.py) must agree, leaving only the objects the models
declare but PostgreSQL cannot create. The apps live in their own cached environment (env.py); without
it the tests skip and say why. Every subprocess runs in that environment, schemasync included.
"""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADMIN_URL, drop_database, make_database, url_for
from tests.corpus import env

HERE = Path(__file__).resolve().parent
TRIAGE = HERE / "triage"
MODELS_DIR = HERE / "models"  # the project directory: app-side modules such as corpus_mlflow.py

APPS = sorted(p.stem for p in TRIAGE.glob("*.toml"))

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="session")
def corpus_python() -> Path:
    try:
        return env.ensure()
    except env.CorpusUnavailable as exc:
        pytest.skip(f"the corpus applications could not be installed into their own environment: {exc}")


def _environ(tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SCHEMASYNC_", "DATABASE_URL", "PREFECT_"))}
    return {
        **base,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "MLFLOW_TRACKING_URI": "",
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }


def _run(python: Path, args: list[str], tmp_path: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), *args],
        check=False,
        cwd=MODELS_DIR,
        env=_environ(tmp_path),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


_TEMPLATES: dict[str, str] = {}


@pytest.fixture(scope="module")
def templates(corpus_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Each app's database migrated to head once per module; the tests copy it (CREATE DATABASE ... TEMPLATE)."""
    yield _TEMPLATES
    for name in _TEMPLATES.values():
        drop_database(name)
    _TEMPLATES.clear()


def _migrated(app: str, python: Path, templates: dict[str, str], tmp_path: Path) -> str:
    """A fresh database holding the app's migration head: the migrated template, copied."""
    import psycopg

    if app not in templates:
        name = make_database()
        proc = _run(python, [str(HERE / "migrate.py"), app, url_for(name)], tmp_path, timeout=300)
        if proc.returncode != 0:
            drop_database(name)
            pytest.fail(f"{app}'s own migrations failed:\n{proc.stderr[-3000:]}")
        templates[app] = name
    copy = make_database()
    drop_database(copy)
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{templates[app]}"')
    return copy


@pytest.fixture
def database(request: pytest.FixtureRequest, corpus_python: Path, templates: dict[str, str], tmp_path: Path):  # type: ignore[no-untyped-def]
    name = _migrated(request.node.callspec.params["app"], corpus_python, templates, tmp_path)
    try:
        yield url_for(name)
    finally:
        drop_database(name)


def _triage(app: str) -> dict[str, Any]:
    with (TRIAGE / f"{app}.toml").open("rb") as f:
        return tomllib.load(f)


def _field(change: dict[str, Any], dotted: str) -> Any:
    value: Any = change
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _matches(change: dict[str, Any], entry: dict[str, Any]) -> bool:
    return change["change"] == entry["change"] and all(
        _field(change, key) == want for key, want in entry.get("match", {}).items()
    )


def _short(change: dict[str, Any]) -> str:
    if change["change"] in ("CreateTable",):
        return f"CreateTable {change['table']['name']}"
    return json.dumps(change, default=str)[:300]


def _schemasync(python: Path, tmp_path: Path, url: str, models: str, *args: str) -> subprocess.CompletedProcess[str]:
    return _run(python, ["-m", "schemasync", *args, "--database-url", url, "--models", models], tmp_path)


@pytest.mark.parametrize("app", APPS)
def test_diff_reports_exactly_the_genuine_differences(app: str, corpus_python: Path, database: str, tmp_path: Path):
    triage = _triage(app)
    proc = _schemasync(corpus_python, tmp_path, database, triage["models"], "diff", "--json", "--prune")
    assert proc.returncode in (0, 2), proc.stderr  # 2 if model errors (class 5) come to set diff's exit code
    report = json.loads(proc.stdout)
    changes = report["changes"]
    genuine = triage["genuine"]
    false_reports = [_short(c) for c in changes if not any(_matches(c, g) for g in genuine)]
    missed = [g for g in genuine if not any(_matches(c, g) for c in changes)]
    assert not false_reports, f"{len(false_reports)} false report(s):\n" + "\n".join(false_reports)
    assert not missed, "missed genuine difference(s):\n" + "\n".join(f"{g['change']} {g['match']}" for g in missed)
    # The objects PostgreSQL cannot create as declared: each reported, with the server's reason and the
    # database's own definition, and nothing else.
    errors = sorted((e["object"], e["reason"], e["live"]) for e in report["model_errors"])
    assert errors == sorted((e["object"], e["reason"], e.get("live")) for e in triage.get("model_error", [])), (
        json.dumps(report["model_errors"], indent=1)
    )


@pytest.mark.parametrize("app", APPS)
def test_sync_prune_converges_and_alembic_agrees(app: str, corpus_python: Path, database: str, tmp_path: Path):
    triage = _triage(app)
    models = triage["models"]
    synced = _schemasync(
        corpus_python,
        tmp_path,
        database,
        models,
        "sync",
        "--prune",
        "--yes",
        "--allow-destructive",
        "--no-backup",
        "--allow-model-errors",
        "--app-version",
        "1.0.0",
    )
    assert synced.returncode == 0, synced.stdout + synced.stderr
    # Converged: nothing left to change. `check` still exits 2 while the models have errors (what could not
    # be created was not compared), and says which.
    checked = _schemasync(corpus_python, tmp_path, database, models, "check", "--prune", "--json")
    errors = triage.get("model_error", [])
    assert checked.returncode == (2 if errors else 0), checked.stdout + checked.stderr
    report = json.loads(checked.stdout)
    assert report["changes"] == [], json.dumps(report["changes"], indent=1)[:3000]
    assert len(report["model_errors"]) == len(errors)

    look = _run(corpus_python, [str(HERE / "look.py"), database, models], tmp_path)
    assert look.returncode == 0, look.stderr
    expected = sorted(item for error in errors for item in error["look"])
    assert json.loads(look.stdout) == expected
