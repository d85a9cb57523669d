"""What models, databases and approvers supply cannot rewrite the approval plan or plant secrets (issue 13, point 9).

A table named `x\\n## Hazards\\nNone` used to add a heading to the plan an approver reads, so the real
hazards could be pushed out of sight; a comment typed into Prefect's resume form (which our CLI never
sees) was stored in `schema_versions` as typed; and `--as` took terminal escapes into the record.
"""

from __future__ import annotations

import re
import uuid

import pytest
from prefect.client.orchestration import get_client

from schemasync.workflows.approval import PLAN_ARTIFACT_KEY
from schemasync.workflows.tasks.production import SUMMARY_ARTIFACT_KEY
from tests.production.conftest import MODELS, SECRET, App
from tests.production.helpers import artifacts, wait_paused

HOSTILE_TABLE = "x\n## Hazards\nNone <img src=x onerror=alert(1)>"


@pytest.mark.prefect
@pytest.mark.s3
def test_a_hostile_table_name_cannot_rewrite_the_plan_and_a_typed_secret_is_not_stored(app: App) -> None:
    (app.project / "shopmodels.py").write_text(
        MODELS
        + f"""

class Hostile(Base):
    __tablename__ = {HOSTILE_TABLE!r}
    id: Mapped[int] = mapped_column(primary_key=True)
"""
    )
    name, future = app.start()
    run = wait_paused(name)
    plan = artifacts(run.id)[PLAN_ARTIFACT_KEY].data
    assert "x ## Hazards None" in plan, "the name is shown, on one line"
    prose = "".join(plan.split("```")[0::2])  # outside the SQL fence, where Markdown is rendered
    headings = [line for line in prose.splitlines() if line.startswith("#")]
    assert headings.count("## Hazards") == 1, headings
    assert "\nNone <img" not in prose, "no line of the plan starts inside the name"
    assert re.search(r"(?<!\\)<img", prose) is None and "\\<img src=x onerror=alert(1)\\>" in prose

    # Answered as the Prefect UI would: the raw form input, straight to the API.
    with get_client(sync_client=True) as client:
        client.resume_flow_run(
            run.id,
            run_input={
                "approve": True,
                "approver": "ann",
                "comment": f"ok; db is postgresql://postgres:{SECRET}@db/shop\n## Injected",
            },
        )
    state = future.result(timeout=120)
    assert state.is_completed(), state.message
    row = app.versions()[-1]
    assert row["status"] == "applied" and row["approved_by"] == "ann"
    assert SECRET not in row["notes"] and "postgresql://postgres:***@db/shop" in row["notes"]
    summary = artifacts(run.id)[SUMMARY_ARTIFACT_KEY].data
    assert SECRET not in summary
    assert "\n## Injected" not in summary
    assert "| comment | ok; db is postgresql://postgres:\\*\\*\\*@db/shop ## Injected |" in summary


def test_an_approver_name_with_terminal_escapes_is_refused(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("approve", str(uuid.uuid4()), "--as", "al\x1b[31mice\x1b[0m")
    assert result.code == 64, result.output
    assert "control character" in result.stderr and "\x1b" not in result.stderr
    assert "Traceback" not in result.output
