"""The `drift-check` flow: is every database of a fleet still what its models say? Run on a schedule.

Reads like the job: take the targets (parameters and/or a targets file), check them in parallel on a
bounded thread pool, publish what was found, raise the alarm per drifted database.

Published on the flow run:
- table artifact `schemasync-drift`: one row per target (target, database, environment, app version,
  database version, in sync, changes, destructive changes, status);
- Markdown artifact `schemasync-drift-<target>` per drifted target: what differs, the model errors and
  unmanaged-declared objects (a target with either is drifted, never in sync), the hazards and the
  plan `schemasync sync` would run;
- event `schemasync.drift.detected` per drifted target, resource id `schemasync.target.<target>`
  (labels: target name, database as user@host:port/dbname, environment; payload: versions, change
  counts, summary, model errors, unmanaged-declared): hang notifications and automations on it.

Final state. **Failed** when any target drifted or could not be checked, **Completed** when all are in
sync; the state message says which (`3 targets: 1 in sync, 1 drifted (shop), 1 not checked (billing)`).
A drift monitor that reports "Completed" while production drifted hides the one thing it is for;
Failed is what Prefect's stock notifications and `prefect.flow-run.Failed` automations already watch,
so alerting needs no setup. A custom state *name* ("Drifted") was rejected: Prefect names its state
events after the state name (`prefect.flow-run.Drifted`), so stock "run failed" automations would miss
it. For finer alerts (drift only, one database) use the `schemasync.drift.detected` event.

Secrets: parameters are stored by Prefect, so a target names where its URL lives (`url_env`, an
environment variable of the worker; `url_secret`, a Prefect Secret block) and a parameter holding a
URL with a password fails the run before anything is checked. Artifacts, events and logs carry
`Database.display` only.

Parallelism: `SCHEMASYNC_DRIFT_WORKERS` threads (default 8), read when the module is imported (by the
worker's flow-run process). Each check holds one connection while it runs, so that is also the number
of connections open at once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.events import emit_event
from prefect.states import Completed, Failed, State
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import BaseModel, ConfigDict, Field

from schemasync import secrets
from schemasync.drift import (
    TABLE_COLUMNS,
    DriftResult,
    DriftStatus,
    FleetTarget,
    load_targets,
    outcome,
    parse_targets,
    plan_markdown,
    slug,
    table_rows,
)
from schemasync.errors import ConfigError, ExitCode, SchemasyncError
from schemasync.workflows.tasks.drift import check_target

TABLE_KEY = "schemasync-drift"
PLAN_KEY_PREFIX = "schemasync-drift-"
EVENT = "schemasync.drift.detected"
WORKERS = max(1, int(os.environ.get("SCHEMASYNC_DRIFT_WORKERS", "8") or 8))


class DriftFound(SchemasyncError):
    """Some target drifted or could not be checked (the flow's Failed state carries this)."""


class DriftTarget(BaseModel):
    """One database to check (a form in the Prefect UI). Name where the URL lives, never the URL with a password."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    name: str = Field(description="Label of the target: its table row, artifact and event.")
    url_env: str | None = Field(None, description="Environment variable (on the worker) holding the database URL.")
    url_secret: str | None = Field(None, description="Prefect Secret block holding the database URL.")
    url: str | None = Field(None, description="A database URL without a password (trust auth, ~/.pgpass).")
    models: str | None = Field(None, description="module:attribute of the models; default: the project's.")
    env: str | None = Field(None, description="Environment name; default: the project's.")
    project_dir: str | None = Field(None, description="Directory of the app's pyproject.toml; default: working dir.")
    app_version: str | None = Field(None, description="App version; default: the project's.")


def fleet(targets: list[DriftTarget] | None, targets_file: str | None) -> list[FleetTarget]:
    """The targets to check, validated (passwords refused) before anything connects."""
    found: list[FleetTarget] = []
    if targets:
        found += parse_targets(
            [t.model_dump(exclude_none=True) for t in targets], origin="the flow's targets parameter"
        )
    if targets_file:
        found += load_targets(Path(targets_file))
    if not found:
        raise ConfigError(
            "The drift check was given no targets.",
            "Pass targets (a list of name + url_env/url_secret) or targets_file (a targets.toml or .yaml path).",
        )
    names = [t.name for t in found]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(
            f"Several targets are called {', '.join(map(repr, repeated))}.",
            "Give every target its own name (in the parameter and the targets file together).",
        )
    return found


def publish(results: list[DriftResult]) -> None:
    """The results table on the run, and the plan of each drifted target."""
    verdict = outcome(results)
    rows = table_rows(results)
    create_table_artifact(
        table=[{column: row[column] for column in TABLE_COLUMNS} for row in rows],
        key=TABLE_KEY,
        description=secrets.scrub(verdict.message),
    )
    for result in results:
        if result.status is DriftStatus.DRIFTED:
            create_markdown_artifact(
                markdown=plan_markdown(result),
                key=PLAN_KEY_PREFIX + slug(result.target)[: 64 - len(PLAN_KEY_PREFIX)].strip("-"),
                description=secrets.scrub(f"Drift on {result.target}: {result.changes} change(s)"),
            )


def announce(result: DriftResult) -> None:
    """`schemasync.drift.detected` for one drifted target (the flow run is attached as a related resource)."""
    emit_event(
        event=EVENT,
        resource={
            "prefect.resource.id": f"schemasync.target.{slug(result.target)}",
            "prefect.resource.name": result.target,
            "schemasync.database": secrets.scrub(result.database),
            "schemasync.environment": result.environment,
        },
        payload=_payload(result),
    )


def _payload(result: DriftResult) -> dict[str, Any]:
    return {
        "target": result.target,
        "database": secrets.scrub(result.database),
        "environment": result.environment,
        "app_version": result.app_version,
        "database_version": result.database_version,
        "changes": result.changes,
        "destructive": [secrets.scrub(d) for d in result.destructive],
        "summary": [secrets.scrub(s) for s in result.summary],
        "model_errors": [secrets.scrub(e) for e in result.model_errors],
        "unmanaged_declared": [secrets.scrub(u) for u in result.unmanaged_declared],
    }


@flow(
    name="drift-check",
    description="Compare databases with their models on a schedule; fail and emit events on drift.",
    # Prefect types the parameter with an invariant TaskRunner[PrefectFuture[Any]] that no concrete runner
    # matches (PrefectHQ/prefect#16938)
    task_runner=ThreadPoolTaskRunner(max_workers=WORKERS),  # type: ignore[arg-type]
    validate_parameters=True,
)
def drift_check(targets: list[DriftTarget] | None = None, targets_file: str | None = None) -> State:
    """Check each target (versions, diff, hazards); Failed when any drifted or could not be checked."""
    logger = get_run_logger()
    checks = fleet(targets, targets_file)
    logger.info("Checking %d target(s), %d at a time", len(checks), min(WORKERS, len(checks)))
    futures = check_target.map(checks)
    results = []
    for target, future in zip(checks, futures, strict=True):
        future.wait()
        state = future.state
        if state.is_completed():
            results.append(future.result())
        else:  # the task itself crashed (never a target's own problem, which is a result)
            # a State's name defaults to its type's when it is built, but the field stays Optional
            message = secrets.scrub(state.message or state.name or state.type.value)
            results.append(DriftResult(target=target.name, status=DriftStatus.ERROR, error=message))
    publish(results)
    for result in results:
        if result.status is DriftStatus.DRIFTED:
            announce(result)
    verdict = outcome(results)
    if verdict.exit_code is not ExitCode.OK:
        logger.warning(verdict.message)
        # A Failed state carries an exception, not data: calling the flow directly raises it.
        return Failed(message=verdict.message, data=DriftFound(verdict.message, exit_code=verdict.exit_code))
    logger.info(verdict.message)
    return Completed(message=verdict.message, data=[r.to_dict() for r in results])
