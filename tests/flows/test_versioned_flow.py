"""Versioned mode's residual drift in the production flow: the migrations and the models disagree.

Two ways it shows: revisions are pending but leave the database short of the models (they run, the
verification fails the run, both rows say why), and nothing is pending while the models moved on
(refused before any backup or change).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from schemasync.workflows.flows.production import ProductionOptions, production_deploy
from schemasync.workflows.preapproval import Terminal, at_terminal
from tests.conftest import TestDB
from tests.history.helpers import MODELS_V1, MODELS_V2, write_project

pytestmark = pytest.mark.prefect

ALEMBIC = 'alembic-ini = "alembic.ini"\n'
OURS = ("SCHEMASYNC_", "PROD_", "DATABASE_URL")


def test_residual_drift_fails_the_production_flow(pg: TestDB, prefect_api, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "blog"
    root.mkdir()
    subprocess.run([sys.executable, "-m", "alembic", "init", "migrations"], cwd=root, check=True, capture_output=True)
    write_project(root, "1.0.0", MODELS_V1, ALEMBIC)
    env = {k: v for k, v in os.environ.items() if not k.startswith(OURS)}
    generated = subprocess.run(
        [sys.executable, "-m", "schemasync", "generate", "-m", "initial"],
        cwd=root, env={**env, "DATABASE_URL": pg.url}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    # 1.1.0's models add a table and a column, but nobody wrote the revision for them
    write_project(root, "1.1.0", MODELS_V2, ALEMBIC)
    for key in [k for k in os.environ if k.startswith(OURS)]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("BLOG_DB", pg.url)
    options = ProductionOptions(
        project_dir=str(root),
        environment="staging",
        database_url_env="BLOG_DB",
        allow_local_backup=True,
    )

    with at_terminal(Terminal("ci", approve=True)):  # `schemasync production --approve`
        state = production_deploy(options=options, return_state=True)
    assert state.is_failed(), state.message
    assert "WAS changed" in (state.message or "") and "schema matches the models" in (state.message or "")
    assert "tags" in (state.message or "")
    head = pg.scalar("SELECT version_num FROM alembic_version")
    assert pg.scalar("SELECT to_regclass('public.users')") == "users"  # the revision ran
    assert pg.scalar("SELECT to_regclass('public.tags')") is None  # the models' table no revision creates
    rows = pg.execute("SELECT schema_version, status, migration_file, notes FROM schema_versions ORDER BY id")
    assert [r[:3] for r in rows] == [("1.1.0", "applied", head), ("1.1.0", "failed", None)]
    assert rows[0][3].startswith("Residual drift against the models:") and "tags" in rows[0][3]
    assert "the database still differs" in rows[1][3]
    backups = sorted((root / "backups").glob("*.dump"))
    assert len(backups) == 1

    # nothing pending now, and still not the models: refused before any backup or change
    again = production_deploy(options=options, return_state=True)
    assert again.is_failed()
    assert f"No Alembic revision is pending (postgres@127.0.0.1:5432/{pg.name} is at {head})" in (again.message or "")
    assert "Nothing was changed" in (again.message or "") and "schemasync generate" in (again.message or "")
    assert pg.scalar("SELECT count(*) FROM schema_versions") == 2
    assert sorted((root / "backups").glob("*.dump")) == backups
