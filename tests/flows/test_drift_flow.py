"""The drift-check flow called in-process on the real Prefect server: refusals and a targets file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemasync.safetext import escape_markdown
from schemasync.workflows.flows.drift import DriftFound, drift_check
from tests.conftest import TestDB
from tests.drift import helpers
from tests.fixtures.pg import PASSWORD

pytestmark = [pytest.mark.prefect]


def _logs(run_id: object) -> str:
    """The run's log as the server stored it (this process sends log lines in the background)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
    return "\n".join(entry.message for entry in logs)


def test_a_password_in_the_parameters_fails_the_run_before_any_check(prefect_api) -> None:  # type: ignore[no-untyped-def]
    targets = [
        {"name": "fine", "url_env": "SOME_URL"},
        {"name": "shop", "url": f"postgresql://app:{PASSWORD}@db.example:5432/shop"},
    ]
    state = drift_check(targets=targets, return_state=True)
    assert state.is_failed()
    assert "Target 'shop' (the flow's targets parameter, target 2) has a database password in url" in state.message
    run_id = state.state_details.flow_run_id
    logs = _logs(run_id)
    assert "checked nothing" in logs and "Checking" not in logs  # refused before any target was checked
    assert PASSWORD not in state.message + logs


def test_targets_file_and_parameters_together(prefect_api, fleet_dbs: dict[str, TestDB], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project = helpers.make_project(tmp_path / "app")
    (tmp_path / "targets.yaml").write_text(
        f"defaults:\n  project_dir: app\ntargets:\n  - name: shop-eu\n    url: {fleet_dbs['synced'].url}\n"
    )
    synced = drift_check(targets_file=str(tmp_path / "targets.yaml"), return_state=True)
    assert synced.is_completed() and synced.message == "1 target: 1 in sync."
    assert synced.result()[0]["database_version"] == "2.0.0"  # Completed carries the results

    both = drift_check(
        targets=[{"name": "shop-us", "url": fleet_dbs["drifted"].url, "project_dir": str(project)}],
        targets_file=str(tmp_path / "targets.yaml"),
        return_state=True,
    )
    assert both.is_failed() and both.message == "2 targets: 1 in sync, 1 drifted (shop-us)."
    with pytest.raises(DriftFound, match="1 drifted"):  # called as a function, the Failed state raises
        both.result()

    twice = drift_check(
        targets=[{"name": "shop-eu", "url_env": "X"}], targets_file=str(tmp_path / "targets.yaml"), return_state=True
    )
    assert twice.is_failed() and "Several targets are called 'shop-eu'" in twice.message


# The drift models plus one index PostgreSQL refuses (GIN has no default operator class for text: a model
# error) and a tablespace schemasync does not manage (unmanaged-declared): the database matches the
# rest exactly, so only those two keep it from being in sync.
UNCOMPARED_MODELS = helpers.MODELS.replace(
    "    note: Mapped[str | None] = mapped_column(Text)\n",
    "    note: Mapped[str | None] = mapped_column(Text)\n"
    "    __table_args__ = (\n"
    '        Index("ix_items_note_words", "note", postgresql_using="gin"),\n'
    '        {"postgresql_tablespace": "pg_default"},\n'
    "    )\n",
).replace("from sqlalchemy import ForeignKey,", "from sqlalchemy import ForeignKey, Index,")


def test_model_errors_and_unmanaged_declared_are_drift_never_in_sync(  # type: ignore[no-untyped-def]
    prefect_api, fleet_dbs: dict[str, TestDB], tmp_path: Path
) -> None:
    from tests.production.helpers import artifacts

    project = helpers.make_project(tmp_path / "app")
    (project / "driftmodels.py").write_text(UNCOMPARED_MODELS)
    state = drift_check(
        targets=[{"name": "shop-eu", "url": fleet_dbs["synced"].url, "project_dir": str(project)}], return_state=True
    )
    assert state.is_failed() and state.message == "1 target: 0 in sync, 1 drifted (shop-eu).", state.message
    found = artifacts(state.state_details.flow_run_id)
    plan = found["schemasync-drift-shop-eu"].data
    assert "## Model errors" in plan and escape_markdown("index ix_items_note_words on table public.items") in plan
    assert 'no default operator class for access method "gin"' in plan
    assert "## Declared but not managed" in plan and "tablespace on public.items" in plan
    table = found["schemasync-drift"].data
    (row,) = json.loads(table) if isinstance(table, str) else table
    assert row["in sync"] == "no" and row["changes"] == "0"
