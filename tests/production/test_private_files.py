"""Issue 13.8: what a production run leaves on disk is its owner's alone, like `schemasync backup`'s files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from schemasync.workflows.approval import Approval, answer
from tests.production.conftest import App
from tests.production.helpers import wait_paused

pytestmark = [pytest.mark.prefect, pytest.mark.s3]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_production_run_leaves_backups_summaries_and_results_owner_only(app: App) -> None:
    previous = os.umask(0o022)  # the usual umask, under which default modes are 0755 / 0644
    try:
        name, future = app.start()
        answer(wait_paused(name).id, Approval(approve=True, approver="ann", comment="ship it"))
        state = future.result(timeout=120)
    finally:
        os.umask(previous)
    assert state.is_completed(), state.message

    results = app.backups / ".prefect-results"
    persisted = [p for p in results.rglob("*") if p.is_file()]
    assert persisted, "the backup's task result was persisted next to the backups"
    [summary] = app.summaries()
    files = [*app.dumps(), *app.backups.glob("*.manifest.json"), summary, *persisted]
    directories = [app.backups, results, *(p for p in results.rglob("*") if p.is_dir())]
    assert {str(p): _mode(p) for p in files} == {str(p): 0o600 for p in files}
    assert {str(p): _mode(p) for p in directories} == {str(p): 0o700 for p in directories}
