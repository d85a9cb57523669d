"""Versioned mode in the production flow: the app's Alembic revisions are the plan, and they are what runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from schemasync.deploy.model import Outcome
from schemasync.workflows.approval import PLAN_ARTIFACT_KEY, Approval, answer
from schemasync.workflows.flows.production import ProductionOptions, production_deploy
from schemasync.workflows.preapproval import Terminal, at_terminal
from tests.conftest import TestDB
from tests.flows.helpers import in_thread, unique
from tests.history.helpers import MODELS_V1, write_project
from tests.production.helpers import artifacts, wait_paused

pytestmark = pytest.mark.prefect


def test_the_flow_runs_the_apps_migrations_after_approval_and_records_the_head(
    pg: TestDB, prefect_api, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "blog"
    root.mkdir()
    subprocess.run([sys.executable, "-m", "alembic", "init", "migrations"], cwd=root, check=True, capture_output=True)
    write_project(root, "1.0.0", MODELS_V1, 'alembic-ini = "alembic.ini"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCHEMASYNC_", "PROD_", "DATABASE_URL"))}
    generated = subprocess.run(
        [sys.executable, "-m", "schemasync", "generate", "-m", "initial"],
        cwd=root, env={**env, "DATABASE_URL": pg.url}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    for key in [k for k in os.environ if k.startswith(("SCHEMASYNC_", "PROD_", "DATABASE_URL"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("BLOG_DB", pg.url)  # the flow gets the variable's name, never the URL
    monkeypatch.setenv("SCHEMASYNC_APPROVAL_POLL_INTERVAL", "1")

    options = ProductionOptions(
        project_dir=str(root), environment="staging", database_url_env="BLOG_DB", allow_local_backup=True
    )
    name = unique("versioned")
    future = in_thread(production_deploy.with_options(flow_run_name=name), options=options, return_state=True)
    run = wait_paused(name)
    plan = artifacts(run.id)[PLAN_ARTIFACT_KEY].data
    assert "1 Alembic revision to apply" in plan and "op.create_table('users'" in plan
    assert "Migrations are opaque to schemasync" in plan
    assert pg.scalar("SELECT to_regclass('public.users')") is None

    answer(run.id, Approval(approve=True, approver="ann", comment="migrations reviewed"))
    state = future.result(timeout=120)

    assert state.is_completed(), state.message
    assert state.result().outcome is Outcome.APPLIED
    head = pg.scalar("SELECT version_num FROM alembic_version")
    row = pg.execute(
        "SELECT schema_version, status, migration_file, approved_by, notes, run_id, environment FROM schema_versions "
        "ORDER BY id DESC LIMIT 1"
    )[0]
    assert row == ("1.0.0", "applied", head, "ann", "migrations reviewed", str(run.id), "staging")
    [dump] = (root / "backups").glob("*.dump")
    assert pg.scalar("SELECT backup_uri FROM schema_versions ORDER BY id DESC LIMIT 1") == str(dump)

    with at_terminal(Terminal("ci", approve=True)):  # `schemasync production --approve`
        again = production_deploy(options=options, return_state=True)
    assert again.is_completed() and again.result().outcome is Outcome.IN_SYNC
