"""The approval gate under attack (issue 13): self-approval through the API, settings moved during the
wait, approvers who may not approve, forged requests and answers. Real Prefect server, PostgreSQL, S3."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.states import Running

from schemasync.deploy.gate import ApproverNotAllowed
from schemasync.workflows.approval import Approval, answer, pending_approvals
from schemasync.workflows.preapproval import Terminal
from tests.conftest import drop_database, make_database, url_for
from tests.flows.helpers import read_run, serving
from tests.production.conftest import App
from tests.production.helpers import wait_paused

pytestmark = [pytest.mark.prefect, pytest.mark.s3]


def _with_legacy_data(app: App) -> None:
    """A column the models do not have, holding data: what `prune` would drop."""
    app.pg.execute("ALTER TABLE customers ADD COLUMN legacy text")
    app.pg.execute("UPDATE customers SET legacy = 'keep me'")


@pytest.fixture
def served(app: App, tmp_path: Path) -> Iterator[Path]:
    """`python deployments/serve.py --only production-deploy` with the app's environment: a worker-like runner.

    Served from a copy of prefect.yaml whose deployment names the app's project: a run keeps its deployment's.
    """
    with serving(
        tmp_path, "production-deploy", "schemasync-production/production-deploy", {"project_dir": str(app.project)}
    ) as log:
        yield log


@pytest.mark.slow
def test_a_deployment_run_created_through_the_api_cannot_approve_itself(app: App, served: Path) -> None:
    from prefect.deployments import run_deployment

    _with_legacy_data(app)
    hostile = {
        "project_dir": str(app.project),
        "environment": "production",
        "pre_approved_by": "anyone",
        "allow_destructive": True,
        "prune": True,
        "poll_interval": 1,
    }
    run = run_deployment("schemasync-production/production-deploy", parameters={"options": hostile}, timeout=0)

    deadline = time.monotonic() + 150
    while not (state := read_run(run.id).state) or not state.is_paused():
        assert state is None or not state.is_final(), f"{state.name}: {state.message}\n{served.read_text()[-3000:]}"
        assert time.monotonic() < deadline, served.read_text()[-3000:]
        time.sleep(0.5)
    assert "legacy" in app.columns("customers"), "nothing was dropped without an approval"
    [request] = [p.request for p in pending_approvals() if p.run_id == str(run.id)]
    assert "DELETES_DATA" in request["hazards"], "the approver sees the destructive plan"

    answer(run.id, Approval(approve=False, approver="bob", comment="no pruning today"))
    deadline = time.monotonic() + 90
    while not (final := read_run(run.id).state) or not final.is_final():
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert final.is_completed(), final.message
    assert app.pg.scalar("SELECT count(*) FROM customers WHERE legacy = 'keep me'") == 25
    assert [(r["status"], r["approved_by"]) for r in app.versions()] == [("initial", None), ("rejected", "bob")]


def test_parameters_pre_approve_nothing_unless_the_worker_allows_it(app: App, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _with_legacy_data(app)
    name, future = app.start(pre_approved_by="anyone", allow_destructive=True, prune=True)
    run = wait_paused(name)
    assert "legacy" in app.columns("customers")
    answer(run.id, Approval(approve=False, approver="bob", comment="no"))
    assert future.result(timeout=90).is_completed()

    # The operator allows pre-approval of additive plans only: a destructive plan still goes to an approver.
    monkeypatch.setenv("SCHEMASYNC_ALLOW_PRE_APPROVAL", "1")
    name, future = app.start(pre_approved_by="ci", allow_destructive=True, prune=True)
    run = wait_paused(name)
    answer(run.id, Approval(approve=False, approver="bob", comment="no"))
    assert future.result(timeout=90).is_completed()
    assert app.pg.scalar("SELECT count(*) FROM customers WHERE legacy = 'keep me'") == 25

    _name, future = app.start(pre_approved_by="ci")  # additive: allowed by the operator, no pause
    state = future.result(timeout=120)
    assert state.is_completed(), state.message
    row = app.versions()[-1]
    assert (row["status"], row["approved_by"]) == ("applied", "ci")
    assert (
        row["notes"] == "pre-approved by ci (pre_approved_by, allowed by SCHEMASYNC_ALLOW_PRE_APPROVAL on the worker)"
    )


def _approved_then(app: App, change) -> tuple[object, object]:  # type: ignore[no-untyped-def]
    name, future = app.start()
    run = wait_paused(name)
    change()
    answer(run.id, Approval(approve=True, approver="ann", comment="ok"))
    return run, future.result(timeout=120)


def test_a_database_moved_by_dotenv_during_the_wait_is_refused(app: App, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    other = make_database()
    try:
        monkeypatch.delenv("PROD_DATABASE_URL")
        (app.project / ".env").write_text(f"PROD_DATABASE_URL={app.url}\n")

        def move() -> None:
            (app.project / ".env").write_text(f"PROD_DATABASE_URL={url_for(other)}\n")

        run, state = _approved_then(app, move)

        assert state.is_failed()  # type: ignore[attr-defined]
        message = state.message  # type: ignore[attr-defined]
        assert "What was approved is not what would run now" in message and "nothing was applied" in message
        assert f"dbname was '{app.pg.name}', is now '{other}'" in message
        assert "Traceback" not in message
        assert app.columns("orders") == []
        rows = app.versions()
        assert [r["status"] for r in rows] == ["initial", "refused"], "the refusal is recorded where it was approved"
        assert rows[-1]["approved_by"] == "ann" and rows[-1]["run_id"] == str(run.id)  # type: ignore[attr-defined]
        with __import__("psycopg").connect(url_for(other), autocommit=True) as conn:
            tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
        assert tables == (0,), "nothing reached the other database"
    finally:
        drop_database(other)


def test_a_build_command_added_during_the_wait_never_runs(app: App, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "built"

    def add_build() -> None:
        monkeypatch.setenv("SCHEMASYNC_BUILD_COMMAND", f"touch {marker}")

    _run, state = _approved_then(app, add_build)

    assert state.is_failed()  # type: ignore[attr-defined]
    assert "build command was empty, is now" in state.message  # type: ignore[attr-defined]
    assert not marker.exists() and app.columns("orders") == []
    assert [r["status"] for r in app.versions()] == ["initial", "refused"]


def test_only_listed_approvers_approve_and_a_forged_artifact_changes_nothing(app: App, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SCHEMASYNC_APPROVERS", "alice,bob")
    name, future = app.start()
    run = wait_paused(name)

    # Any API user can attach an artifact with the request's key to the run: `runs` ignores it.
    forged = {"database": "forged@elsewhere/db", "summary": "nothing to see", "hazards": "", "initiator": "alice"}
    with get_client(sync_client=True) as client:
        from prefect.client.schemas.actions import ArtifactCreate

        client.create_artifact(
            ArtifactCreate(key="schemasync-approval", type="table", data=json.dumps([forged]), flow_run_id=run.id)
        )
    [listed] = [p.request for p in pending_approvals() if p.run_id == str(run.id)]
    assert listed["database"].endswith(f"/{app.pg.name}") and listed["approvers"] == "alice, bob"
    assert listed["initiator"] == "unknown", "a run created through the API: Prefect's server records no creator"

    with pytest.raises(ApproverNotAllowed, match="'mallory' is not one of the approvers"):
        answer(run.id, Approval(approve=True, approver="mallory", comment=""))
    assert read_run(run.id).state.is_paused(), "refused by `schemasync approve`: the run still waits"

    with get_client(sync_client=True) as client:  # straight through the API, past `schemasync approve`
        client.resume_flow_run(run.id, run_input={"approve": True, "approver": "mallory", "comment": ""})
    state = future.result(timeout=120)
    assert state.is_failed() and "'mallory' is not one of the approvers" in state.message
    assert app.columns("orders") == []
    row = app.versions()[-1]
    assert (row["status"], row["approved_by"]) == ("refused", "mallory")
    assert row["description"] == "Not applied: the approver is not allowed to approve this run"


def test_with_separate_approver_the_initiator_cannot_approve(app: App, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SCHEMASYNC_SEPARATE_APPROVER", "true")
    _name, future = app.start(terminal=Terminal("dora", approve=True))  # `--approve`: approving one's own run
    state = future.result(timeout=90)
    assert state.is_failed() and "'dora' started this run and cannot also approve it" in state.message
    assert app.dumps() == [] and [r["status"] for r in app.versions()] == ["initial"]

    name, future = app.start(terminal=Terminal("dora"))
    run = wait_paused(name)
    [listed] = [p.request for p in pending_approvals() if p.run_id == str(run.id)]
    assert listed["initiator"] == "dora"
    with pytest.raises(ApproverNotAllowed, match="started this run"):
        answer(run.id, Approval(approve=True, approver="Dora", comment=""))
    answer(run.id, Approval(approve=True, approver="erin", comment="second pair of eyes"))
    state = future.result(timeout=120)
    assert state.is_completed(), state.message
    row = app.versions()[-1]
    assert (row["status"], row["approved_by"]) == ("applied", "erin")
    assert app.pg.scalar("SELECT applied_by FROM schema_versions ORDER BY id DESC LIMIT 1") == "dora"


def test_a_resume_without_a_valid_answer_is_refused_cleanly(app: App) -> None:
    name, future = app.start()
    run = wait_paused(name)

    # Resumed past the form: an answer the API never validated (here: an empty approver), state forced.
    keyset = run.state.state_details.run_input_keyset
    with get_client(sync_client=True) as client:
        client.create_flow_run_input(run.id, keyset["response"], json.dumps({"approve": True, "approver": ""}))
        client.set_flow_run_state(run.id, Running(), force=True)
    state = future.result(timeout=120)

    assert state.is_failed()
    assert "was resumed with an answer that is not a valid approval (approver:" in state.message
    assert "nothing was applied" in state.message and "Traceback" not in state.message
    assert app.columns("orders") == []
    row = app.versions()[-1]
    assert (row["status"], row["run_id"]) == ("refused", str(run.id))
    assert row["description"] == "Not applied: the run was resumed without a valid approval"


@pytest.mark.parametrize(
    "variable, value",
    [
        ("SCHEMASYNC_ALLOW_PRE_APPROVAL", "destructive"),
        ("schemasync_approvers", "mallory"),  # settings are read case-insensitively
        ("SCHEMASYNC_DEV_URL", "postgresql://mallory@127.0.0.1/theirs"),  # the models rendered elsewhere
        ("SCHEMASYNC_S3_ENDPOINT_URL", "http://127.0.0.1:1"),  # the dump uploaded before the pause
        ("PGHOSTADDR", "127.0.0.1"),  # libpq connects there whatever host the URL and the pin name
    ],
)
def test_the_flow_refuses_any_environment_set_in_the_runs_own_job_variables(
    app: App, variable: str, value: str
) -> None:
    from prefect.flow_engine import run_flow

    from schemasync.workflows.flows.production import production_deploy
    from tests.flows.helpers import in_thread

    with get_client(sync_client=True) as client:
        created = client.create_flow_run(
            production_deploy,
            parameters={"options": app.options(pre_approved_by="anyone").model_dump()},
            name=f"deploy-{uuid.uuid4().hex[:8]}",
            job_variables={"env": {variable: value}},  # per run: the creator's
        )
        stored = client.read_flow_run(created.id)
    state = in_thread(run_flow, flow=production_deploy, flow_run=stored, return_type="state").result(timeout=120)

    assert state.is_failed()
    assert f"sets {variable} in its own job variables" in state.message
    assert "mallory@" not in state.message
    assert app.dumps() == [] and app.columns("orders") == [] and [r["status"] for r in app.versions()] == ["initial"]


def test_a_deployment_run_cannot_point_the_flow_at_another_project(app: App, tmp_path: Path) -> None:
    """Issue 13 follow-up: the project directory holds the approvers rules, so a run of a deployment that
    names another one (here a copy without `approvers`) would write the rules its own approval is judged by."""
    from schemasync.workflows.flows.production import production_deploy
    from tests.flows.helpers import run_of_deployment, settled

    pyproject = app.project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'approvers = ["alice"]\nseparate-approver = true\n')
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "pyproject.toml").write_text(pyproject.read_text().split("approvers")[0])
    (theirs / "shopmodels.py").write_text((app.project / "shopmodels.py").read_text())
    declared = {"options": {"project_dir": str(app.project), "environment": "production", "poll_interval": 1}}

    for changed, named in (
        ({"project_dir": str(theirs)}, f"project_dir '{theirs}' (the deployment's is '{app.project}')"),
        ({"environment": "staging"}, "environment 'staging' (the deployment's is 'production')"),
        ({"models": "antigravity:x"}, "models 'antigravity:x' (the deployment's is None)"),
        ({"database_url_env": "OTHER_URL"}, "database_url_env 'OTHER_URL' (the deployment's is None)"),
    ):
        asked = {"options": {**declared["options"], **changed}}
        run, future = run_of_deployment(production_deploy, declared=declared, asked=asked)
        state = settled(run.id).state
        assert state.is_final(), "the run got as far as asking for approval, under rules its creator wrote"
        assert state.is_failed() and f"asks for {named}" in state.message, state.message
        assert "so a run of a deployment keeps the deployment's" in state.message and "Traceback" not in state.message
        future.result(timeout=30)
    assert app.dumps() == [] and app.columns("orders") == []
    assert [r["status"] for r in app.versions()] == ["initial"]

    # The deployment's own project, even written another way, is the operator's: the run plans and waits.
    same = {"options": {**declared["options"], "project_dir": os.path.relpath(app.project)}}
    run, future = run_of_deployment(production_deploy, declared=declared, asked=same)
    assert settled(run.id).state.is_paused()
    [request] = [p.request for p in pending_approvals() if p.run_id == str(run.id)]
    assert request["approvers"] == "alice" and request["separate_approver"] == "yes"
    answer(run.id, Approval(approve=False, approver="alice", comment="checked"))
    assert future.result(timeout=90).is_completed()


def test_a_run_cannot_move_its_working_directory_or_allow_a_restore_from_another_database(app: App) -> None:
    from schemasync.workflows.flows.production import production_deploy
    from schemasync.workflows.flows.restore import restore_database
    from tests.flows.helpers import run_of_deployment

    declared = {"options": {"project_dir": str(app.project), "environment": "production"}}
    _run, future = run_of_deployment(production_deploy, declared=declared, job_variables={"working_dir": "/tmp"})
    state = future.result(timeout=60)
    assert state.is_failed() and "sets working_dir in its own job variables" in state.message, state.message

    options = {"backup": "latest", "project_dir": str(app.project), "from_other_database": True}
    _run, future = run_of_deployment(
        restore_database,
        declared={"options": options},
        job_variables={"env": {"SCHEMASYNC_ALLOW_RESTORE_FROM_OTHER_DATABASE": "1"}},
    )
    state = future.result(timeout=60)
    assert state.is_failed(), state.message
    assert "sets SCHEMASYNC_ALLOW_RESTORE_FROM_OTHER_DATABASE in its own job variables" in state.message
    assert [r["status"] for r in app.versions()] == ["initial"]
