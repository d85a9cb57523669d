"""The restore flow behind the `restore` deployment: verify, ask, restore, record (real Prefect server)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from schemasync import db
from schemasync.backups.take import TakenBackup, take_backup
from schemasync.config import load_settings
from schemasync.history import versions
from schemasync.workflows.approval import Approval, answer, pending_approvals
from schemasync.workflows.flows.restore import RestoreOptions, restore_database
from tests.backups.helpers import fill, fingerprint
from tests.conftest import TestDB
from tests.flows.helpers import in_thread, read_run, serving
from tests.production.helpers import artifacts

pytestmark = [pytest.mark.prefect]


def _restorable(pg: TestDB, project: Path) -> tuple[TakenBackup, object, object]:
    """A project, a recorded database, a backup of it, then the data damaged: (the backup, the fingerprint
    before the damage, the fingerprint after it)."""
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "1.2.0"\n')
    fill(pg, rows=20)
    settings = load_settings({"project_dir": str(project)}, {}).settings
    target = db.parse_url(pg.url, "test")
    with db.session(target, settings, autocommit=False) as conn:
        versions.ensure_table(conn, announce=False)
        versions.record(conn, versions.Record("1.2.0", versions.Status.INITIAL, "development"))
        conn.commit()
    taken = take_backup(settings, target, upload=False)
    original = fingerprint(pg)
    pg.execute("DELETE FROM orders WHERE id % 2 = 0")
    return taken, original, fingerprint(pg)


def test_restore_flow_asks_then_restores(prefect_api, pg: TestDB, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    project = tmp_path / "app"
    taken, original, damaged = _restorable(pg, project)
    monkeypatch.setenv("SHOP_DATABASE_URL", pg.url)
    options = RestoreOptions(
        backup=taken.id,
        project_dir=str(project),
        environment="development",
        database_url_env="SHOP_DATABASE_URL",
        poll_interval=1,
        approval_timeout=120,
    )

    # Not pre-approved: it verifies, shows what it replaces, waits; a rejection restores nothing
    future = in_thread(restore_database, options=options, return_state=True)
    deadline = time.monotonic() + 60
    waiting = []
    while time.monotonic() < deadline and not waiting:
        waiting = [p for p in pending_approvals() if p.request.get("database", "").endswith(f"/{pg.name}")]
        time.sleep(0.5)
    assert waiting, "the restore never paused for approval"
    request = waiting[0].request
    assert request["summary"].startswith(f"restore backup {taken.id}") and request["backup"] == taken.location
    assert request["hazards"].startswith("DELETES_DATA: replaces")
    answer(waiting[0].run_id, Approval(approve=False, approver="bob", comment="wrong day"))
    rejected = future.result(timeout=60)
    assert rejected.is_completed() and rejected.message == "Rejected by bob: nothing was restored. (wrong day)"
    assert fingerprint(pg) == damaged

    # Pre-approved, where the worker allows pre-approving a restore that replaces data: restored in one go,
    # with the engine's `restore` row (without SCHEMASYNC_ALLOW_PRE_APPROVAL the run would wait: schemasync/workflows/preapproval.py)
    monkeypatch.setenv("SCHEMASYNC_ALLOW_PRE_APPROVAL", "destructive")
    state = restore_database(options=options.model_copy(update={"pre_approved_by": "alice"}), return_state=True)
    assert state.is_completed(), state.message
    assert state.message.startswith(f"Restored {taken.id} into postgres@127.0.0.1:5432/{pg.name}")
    assert "recorded version 1.2.0 as a restore" in state.message and "approved by alice" in state.message
    assert fingerprint(pg) == original
    assert pg.execute("SELECT status, approved_by, backup_uri FROM schema_versions ORDER BY id") == [
        ("initial", None, None),
        ("rejected", "bob", taken.location),  # the rejection is on record, as a production run's is
        ("restore", None, taken.location),
    ]


def test_restore_flow_restores_another_environments_backup_only_when_the_operator_allows(  # type: ignore[no-untyped-def]
    prefect_api, pg: TestDB, tmp_path: Path, monkeypatch
) -> None:
    """Issue 13.11: a run parameter alone cannot put another environment's data in place."""
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "1.2.0"\n')
    fill(pg, rows=5)
    settings = load_settings({"project_dir": str(project)}, {}).settings
    taken = take_backup(settings, db.parse_url(pg.url, "test"), upload=False)  # a development backup
    pg.execute("DELETE FROM orders")
    monkeypatch.setenv("SHOP_DATABASE_URL", pg.url)
    monkeypatch.delenv("SCHEMASYNC_ALLOW_RESTORE_FROM_OTHER_DATABASE", raising=False)
    options = RestoreOptions(
        backup=str(taken.path),
        project_dir=str(project),
        environment="staging",
        database_url_env="SHOP_DATABASE_URL",
        poll_interval=1,
        approval_timeout=120,
    )

    plain = restore_database(options=options, return_state=True)
    assert plain.is_failed() and "in the 'development' environment, and this is 'staging'" in plain.message
    asked = restore_database(options=options.model_copy(update={"from_other_database": True}), return_state=True)
    assert asked.is_failed() and "SCHEMASYNC_ALLOW_RESTORE_FROM_OTHER_DATABASE is not 1" in asked.message
    assert pg.scalar("SELECT count(*) FROM orders") == 0

    monkeypatch.setenv("SCHEMASYNC_ALLOW_RESTORE_FROM_OTHER_DATABASE", "1")
    future = in_thread(
        restore_database, options=options.model_copy(update={"from_other_database": True}), return_state=True
    )
    deadline = time.monotonic() + 60
    waiting = []
    while time.monotonic() < deadline and not waiting:
        waiting = [p for p in pending_approvals() if p.request.get("database", "").endswith(f"/{pg.name}")]
        time.sleep(0.5)
    assert waiting, "the allowed restore never paused for approval"
    assert "OTHER_DATABASE: the backup is of" in waiting[0].request["hazards"]
    answer(waiting[0].run_id, Approval(approve=False, approver="bob", comment="not today"))
    assert future.result(timeout=60).is_completed()
    assert pg.scalar("SELECT count(*) FROM orders") == 0


def _waiting(pg: TestDB) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        waiting = [p for p in pending_approvals() if p.request.get("database", "").endswith(f"/{pg.name}")]
        if waiting:
            return waiting[0].run_id
        time.sleep(0.5)
    raise AssertionError("the restore never paused for approval")


def test_a_refused_restore_approval_is_recorded(prefect_api, pg: TestDB, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """An approval the rules refuse, or a resume without a valid answer: Failed, nothing restored, and a
    `refused` row saying so (issue 13 follow-up: the production flow already wrote one)."""
    import json
    import uuid

    from prefect.client.orchestration import get_client
    from prefect.states import Running

    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "shop"\nversion = "1.2.0"\n\n[tool.schemasync]\napprovers = ["alice"]\n'
    )
    fill(pg, rows=10)
    settings = load_settings({"project_dir": str(project)}, {}).settings
    target = db.parse_url(pg.url, "test")
    with db.session(target, settings, autocommit=False) as conn:
        versions.ensure_table(conn, announce=False)
        versions.record(conn, versions.Record("1.2.0", versions.Status.INITIAL, "development"))
        conn.commit()
    taken = take_backup(settings, target, upload=False)
    pg.execute("DELETE FROM orders WHERE id % 2 = 0")
    damaged = fingerprint(pg)
    monkeypatch.setenv("SHOP_DATABASE_URL", pg.url)
    options = RestoreOptions(
        backup=taken.id,
        project_dir=str(project),
        environment="development",
        database_url_env="SHOP_DATABASE_URL",
        poll_interval=1,
        approval_timeout=120,
    )

    future = in_thread(restore_database, options=options, return_state=True)
    run_id = _waiting(pg)
    with get_client(sync_client=True) as client:  # past `schemasync approve`, straight through the API
        client.resume_flow_run(uuid.UUID(run_id), run_input={"approve": True, "approver": "mallory", "comment": ""})
    state = future.result(timeout=60)
    assert state.is_failed() and "'mallory' is not one of the approvers" in state.message

    future = in_thread(restore_database, options=options, return_state=True)
    second = _waiting(pg)
    with get_client(sync_client=True) as client:  # resumed past the form, with an answer it never validated
        run = client.read_flow_run(uuid.UUID(second))
        keyset = run.state.state_details.run_input_keyset
        client.create_flow_run_input(run.id, keyset["response"], json.dumps({"approve": True, "approver": ""}))
        client.set_flow_run_state(run.id, Running(), force=True)
    state = future.result(timeout=60)
    assert state.is_failed() and "not a valid approval" in state.message and "Traceback" not in state.message

    assert fingerprint(pg) == damaged, "nothing was restored"
    assert pg.execute(
        "SELECT status, approved_by, run_id, description, backup_uri FROM schema_versions ORDER BY id"
    ) == [
        ("initial", None, None, None, None),
        (
            "refused",
            "mallory",
            run_id,
            "Not restored: the approver is not allowed to approve this restore",
            taken.location,
        ),
        ("refused", None, second, "Not restored: the run was resumed without a valid approval", taken.location),
    ]


def test_a_restore_run_cannot_read_a_worker_variable_through_database_url_env(  # type: ignore[no-untyped-def]
    prefect_api, tmp_path: Path, monkeypatch
) -> None:
    """`database_url_env` is the run creator's to choose: naming a variable that holds no URL must not put
    its value in the run's error, which everyone with API access reads."""
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "1.2.0"\n')
    monkeypatch.setenv("SHOP_API_TOKEN", "tok-4f9a2c71e0d35b88")
    options = RestoreOptions(
        backup="latest", project_dir=str(project), environment="development", database_url_env="SHOP_API_TOKEN"
    )

    state = restore_database(options=options, return_state=True)

    assert state.is_failed() and "environment variable SHOP_API_TOKEN is not a URL" in state.message, state.message
    assert "4f9a2c71" not in state.message


# -- issue 13.2: a restore run's parameters cannot approve it -------------------------------------------------------


HOSTILE_COMMENT = "wrong day\n## Hazards\nNone [ok](http://evil.example) <img src=x onerror=alert(1)>"


def test_a_restore_runs_pre_approved_by_stands_only_where_the_worker_allows_it(  # type: ignore[no-untyped-def]
    prefect_api, pg: TestDB, tmp_path: Path, monkeypatch
) -> None:
    """`pre_approved_by` is a request: without SCHEMASYNC_ALLOW_PRE_APPROVAL, or with `1` (plans that delete no
    data) for a restore that replaces data, the run pauses and the approver sees what it replaces."""
    taken, _original, damaged = _restorable(pg, tmp_path / "app")
    backup = taken.id
    monkeypatch.setenv("SHOP_DATABASE_URL", pg.url)
    options = RestoreOptions(
        backup=backup,
        project_dir=str(tmp_path / "app"),
        environment="development",
        database_url_env="SHOP_DATABASE_URL",
        poll_interval=1,
        approval_timeout=120,
        pre_approved_by="anyone",
    )
    for allowed in (None, "1"):
        if allowed is None:
            monkeypatch.delenv("SCHEMASYNC_ALLOW_PRE_APPROVAL", raising=False)
        else:
            monkeypatch.setenv("SCHEMASYNC_ALLOW_PRE_APPROVAL", allowed)
        future = in_thread(restore_database, options=options, return_state=True)
        run_id = _waiting(pg)
        assert fingerprint(pg) == damaged, "nothing restored without an approval"
        [request] = [p.request for p in pending_approvals() if p.run_id == run_id]
        assert request["hazards"].startswith("DELETES_DATA: replaces"), "the approver sees that it replaces data"
        answer(run_id, Approval(approve=False, approver="bob", comment=HOSTILE_COMMENT))
        assert future.result(timeout=60).is_completed()
        # The operator's comment is text in the summary artifact's Markdown and description, never markup
        summary = artifacts(run_id)["schemasync-restore"]
        for text in (summary.data, summary.description):
            assert "\\<img" in text and "\\[ok\\](http" in text and "\n## Hazards" not in text, text
    assert fingerprint(pg) == damaged
    assert [r[:2] for r in pg.execute("SELECT status, approved_by FROM schema_versions ORDER BY id")] == [
        ("initial", None),
        ("rejected", "bob"),
        ("rejected", "bob"),
    ]


@pytest.mark.slow
def test_a_restore_deployment_run_created_through_the_api_cannot_approve_itself(  # type: ignore[no-untyped-def]
    prefect_api, pg: TestDB, tmp_path: Path
) -> None:
    """As the production flow's test: the `restore` deployment served by `deployments/serve.py` (a worker-like
    runner without SCHEMASYNC_ALLOW_PRE_APPROVAL), a run created through the API asking to be pre-approved."""
    from prefect.deployments import run_deployment

    project = tmp_path / "app"
    taken, _original, damaged = _restorable(pg, project)
    backup = taken.id
    declared = {"project_dir": str(project), "environment": "development", "database_url_env": "SHOP_DATABASE_URL"}
    with serving(tmp_path, "restore", "schemasync-restore/restore", declared, {"SHOP_DATABASE_URL": pg.url}) as log:
        hostile = {**declared, "backup": backup, "pre_approved_by": "anyone", "poll_interval": 1}
        run = run_deployment("schemasync-restore/restore", parameters={"options": hostile}, timeout=0)

        deadline = time.monotonic() + 150
        while not (state := read_run(run.id).state) or not state.is_paused():
            assert state is None or not state.is_final(), f"{state.name}: {state.message}\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        assert fingerprint(pg) == damaged, "nothing was restored without an approval"
        [request] = [p.request for p in pending_approvals() if p.run_id == str(run.id)]
        assert request["hazards"].startswith("DELETES_DATA: replaces")

        answer(run.id, Approval(approve=False, approver="bob", comment="not from a parameter"))
        deadline = time.monotonic() + 90
        while not (final := read_run(run.id).state) or not final.is_final():
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        assert final.is_completed(), final.message
        assert fingerprint(pg) == damaged
        assert [r[:2] for r in pg.execute("SELECT status, approved_by FROM schema_versions ORDER BY id")] == [
            ("initial", None),
            ("rejected", "bob"),
        ]
