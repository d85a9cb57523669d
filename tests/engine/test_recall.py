"""`status` recalls the models' schema without importing them, and never serves a stale one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from schemasync import engine
from schemasync.config import load_settings
from schemasync.schema import devdb, recall
from tests.conftest import TestDB

MODELS_V1 = """
from sqlalchemy import Column, Integer, MetaData, String, Table

metadata = MetaData()
Table("accounts", metadata, Column("id", Integer, primary_key=True), Column("email", String(200)))
"""


def make_project(tmp_path: Path, models: str = MODELS_V1) -> Path:
    project = tmp_path / "proj"
    (project / "acme").mkdir(parents=True)
    (project / "acme" / "__init__.py").write_text("")
    (project / "acme" / "models.py").write_text(textwrap.dedent(models))
    (project / "pyproject.toml").write_text(
        '[project]\nversion = "1.0.0"\n[tool.schemasync]\nmodels = "acme.models:metadata"\n'
    )
    return project


def _recall(pg: TestDB, project: Path) -> recall.Recalled | None:
    settings = load_settings({"project_dir": project}, {}).settings
    with pg.connect() as conn:
        context = devdb.choose(conn, settings).key_material()
        return recall.recall(project / engine.CACHE_DIR, conn, "acme.models:metadata", project, context=context)


def _load(pg: TestDB, project: Path) -> engine.Models:
    settings = load_settings({"project_dir": project}, {}).settings
    for name in [m for m in sys.modules if m == "acme" or m.startswith("acme.")]:
        del sys.modules[name]
    with pg.connect() as conn:
        return engine.load_models(conn, settings)


def test_recall_matches_a_real_load_and_notices_every_kind_of_change(pg: TestDB, tmp_path: Path) -> None:
    project = make_project(tmp_path)
    assert _recall(pg, project) is None  # nothing remembered yet
    loaded = _load(pg, project)
    recalled = _recall(pg, project)
    assert recalled is not None and recalled.desired == loaded.desired and recalled.hints == loaded.hints

    models = project / "acme" / "models.py"
    stat = models.stat()
    os.utime(models, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000_000))
    assert _recall(pg, project) is not None  # touched but unchanged: still good

    models.write_text(models.read_text().replace("String(200)", "String(300)"))
    assert _recall(pg, project) is None  # content changed
    _load(pg, project)
    assert _recall(pg, project) is not None

    (project / "acme" / "extra.py").write_text("")
    assert _recall(pg, project) is None  # a new module in a package the models came from


def test_status_reports_drift_right_after_a_model_change(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    project = make_project(cli.project.parent, MODELS_V1)
    env = {"DATABASE_URL": pg.url}
    assert cli("sync", "--yes", env=env, cwd=project).code == 0
    first = json.loads(cli("status", "--json", env=env, cwd=project).stdout)
    assert first["schema"]["in_sync"] is True
    (project / "acme" / "models.py").write_text(
        textwrap.dedent(MODELS_V1).replace("String(200)))", 'String(200)), Column("name", String(50)))')
    )
    second = json.loads(cli("status", "--json", env=env, cwd=project).stdout)
    assert second["schema"]["in_sync"] is False, second["schema"]["error"]
    assert second["schema"]["changes"] == 1


@pytest.mark.parametrize("command", ["status", "check", "diff"])
def test_looks_with_unchanged_models_do_not_import_sqlalchemy(cli, pg: TestDB, command: str) -> None:  # type: ignore[no-untyped-def]
    project = make_project(cli.project.parent)
    env = {"DATABASE_URL": pg.url}
    assert cli("check", env=env, cwd=project).code in (0, 2)  # a real load, remembered
    probe = (
        "import sys, runpy\n"
        f"sys.argv = ['schemasync', '{command}', '--json']\n"
        "try:\n    runpy.run_module('schemasync', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('SQLALCHEMY', 'sqlalchemy' in sys.modules, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=project,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert "SQLALCHEMY False" in result.stderr, result.stderr
    report = json.loads(result.stdout)
    assert (report["schema"]["in_sync"] if command == "status" else report["in_sync"]) is False


MODELS_FROM_ENV_AND_FILE = """
import os
from pathlib import Path
from sqlalchemy import Column, Integer, MetaData, String, Table

metadata = MetaData()
width = int((Path(__file__).parent / "width.txt").read_text())
Table(os.environ.get("ACME_TABLE", "accounts"), metadata, Column("id", Integer, primary_key=True), Column("email", String(width)))
"""


def test_inputs_read_at_import_time_are_tracked(pg: TestDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path, MODELS_FROM_ENV_AND_FILE)
    (project / "acme" / "width.txt").write_text("200")
    monkeypatch.setenv("ACME_TABLE", "people")
    loaded = _load(pg, project)
    assert [t.name for t in loaded.desired.tables] == ["people"]
    assert _recall(pg, project) is not None

    monkeypatch.setenv("ACME_TABLE", "members")
    assert _recall(pg, project) is None  # an environment variable the models read changed
    monkeypatch.setenv("ACME_TABLE", "people")
    assert _recall(pg, project) is not None

    (project / "acme" / "width.txt").write_text("300")
    assert _recall(pg, project) is None  # a file the models read changed


def test_models_that_read_the_whole_environment_are_never_recalled(pg: TestDB, tmp_path: Path) -> None:
    project = make_project(tmp_path, MODELS_V1 + "\nimport os\nSETTINGS = dict(os.environ)\n")
    _load(pg, project)
    assert _recall(pg, project) is None
