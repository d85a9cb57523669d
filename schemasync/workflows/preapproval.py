"""Who started a run, and whether it may skip the approval pause: never on the run creator's word alone.

Anyone who can create a flow run through the Prefect API sets its parameters and its per-run job
variables, so neither can approve anything. A run skips the pause only when one of these says so:

1. The terminal. `schemasync production --approve` runs the flow in its own process and says so
   through `at_terminal()`, a context variable of that process: no parameter, no API call and no
   worker can set it. The person at the terminal is the approver (and the initiator).
2. The operator's machine. `SCHEMASYNC_ALLOW_PRE_APPROVAL` in the environment of the process running
   the flow (the worker's environment, or the deployment's job variables) lets the run's
   `pre_approved_by` parameter stand: `1` (or `additive`) for plans that delete no data, `destructive`
   also for plans that do, when the run asks with `allow_destructive`. Anything else, or unset: the
   run pauses for an approver, who sees the plan, destructive and prune plans included.

`SCHEMASYNC_ALLOW_MODEL_ERRORS=1`, in the same place, is the operator's `sync --allow-model-errors`: without
it a run refuses models that PostgreSQL cannot create whole; with it the rest is planned, and the approver
sees every object left out.

The run's own job variables come from whoever created the run, so any environment variable set
there (a gate variable of `GATE_VARIABLES`, but also a dev database, an S3 endpoint or libpq's `PG*`),
or a working directory, refuses the run before it plans anything. So does a run
of a deployment whose `project_dir` or `environment` differs from the deployment's own
(`OPERATOR_PARAMETERS`): the project's pyproject.toml and .env hold the approvers rules and the
build commands, so a run creator who could point the flow at a directory of their choosing would
write the rules their own run is judged by. Initiator: the terminal's login name,
or who Prefect says created the run (Prefect Cloud records users and service accounts; a self-hosted
server records nobody, hence `unknown`).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.exceptions import ObjectNotFound
from prefect.runtime import flow_run
from pydantic import BaseModel

from schemasync import secrets
from schemasync.deploy.gate import UNKNOWN
from schemasync.errors import Refused

ALLOW_VARIABLE = "SCHEMASYNC_ALLOW_PRE_APPROVAL"
OTHER_DATABASE_VARIABLE = "SCHEMASYNC_ALLOW_RESTORE_FROM_OTHER_DATABASE"
# `1`: deploy the rest of models that PostgreSQL cannot create whole (`steps.check_models`); the operator's only
MODEL_ERRORS_VARIABLE = "SCHEMASYNC_ALLOW_MODEL_ERRORS"
GATE_VARIABLES = (
    ALLOW_VARIABLE,
    OTHER_DATABASE_VARIABLE,
    MODEL_ERRORS_VARIABLE,
    "SCHEMASYNC_APPROVERS",
    "SCHEMASYNC_SEPARATE_APPROVER",
)
"""Operator permissions and approvers rules: read from the flow process's environment, never set per run."""
OPERATOR_PARAMETERS = ("project_dir", "environment", "models", "database_url_env")
"""Options that choose which settings files are read, which environment's database is meant, which
variable holds its URL, and which module is imported as the models (before anyone approves anything)."""
RUN_LOCATION_VARIABLES = ("working_dir",)
"""Job variables that move the flow's working directory, and with it what a relative `project_dir` names."""


class Allowed(StrEnum):
    """What `SCHEMASYNC_ALLOW_PRE_APPROVAL` lets a run's `pre_approved_by` do."""

    NOTHING = "nothing"
    ADDITIVE = "additive"  # plans that delete no data
    DESTRUCTIVE = "destructive"  # also plans that delete data, when the run sets allow_destructive


@dataclass(frozen=True, slots=True)
class Terminal:
    """The person running `schemasync production` in this process, and what they said on its command line."""

    user: str
    approve: bool = False
    comment: str = ""
    allow_destructive: bool = False


_terminal: ContextVar[Terminal | None] = ContextVar("schemasync_terminal", default=None)


@contextlib.contextmanager
def at_terminal(terminal: Terminal) -> Iterator[None]:
    """Run the flow (called in this block, in this process) on behalf of the person at this terminal."""
    token = _terminal.set(terminal)
    try:
        yield
    finally:
        _terminal.reset(token)


def terminal() -> Terminal | None:
    return _terminal.get()


def allowed() -> Allowed:
    """The operator's `SCHEMASYNC_ALLOW_PRE_APPROVAL`, as read from this process's environment."""
    value = os.environ.get(ALLOW_VARIABLE, "").strip().lower()
    if value in ("1", "true", "yes", "on", "additive"):
        return Allowed.ADDITIVE
    if value == "destructive":
        return Allowed.DESTRUCTIVE
    return Allowed.NOTHING


def model_errors_allowed() -> bool:
    """The operator's `SCHEMASYNC_ALLOW_MODEL_ERRORS=1`: deploy the rest of models with model errors."""
    return os.environ.get(MODEL_ERRORS_VARIABLE, "").strip().lower() in ("1", "true", "yes", "on")


class RunOverridesGate(Refused):
    """The run's own job variables set a variable only the operator may set."""


def refuse_run_overrides(options: BaseModel) -> None:
    """Refuse a run whose creator set what only the operator may: a gate variable or the working directory
    in the run's own job variables, or (for a deployment's run) another project or environment than the
    deployment's. Runs started at the terminal, or in a process without a deployment, are the operator's."""
    run_id = flow_run.id
    if run_id is None or terminal() is not None:
        return

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(uuid.UUID(str(run_id)))
        declared = _deployment_options(client, run.deployment_id, run_id) if run.deployment_id else None
    job = run.job_variables or {}
    env = job.get("env")
    # Any variable, not only the gate's: settings are read case-insensitively (`schemasync_approvers`),
    # and the rest of the environment decides what the approver does not see or what happens after the
    # approval (SCHEMASYNC_DEV_URL, the S3 endpoint the dump goes to before the pause, timeouts, libpq's
    # PGHOSTADDR sending the password elsewhere than the URL and the pin name). The flow's environment is
    # the operator's: the worker's, and the deployment's job variables.
    named = sorted(str(name) for name in env) if isinstance(env, dict) else (["env"] if env else [])
    named += [name for name in RUN_LOCATION_VARIABLES if job.get(name) is not None]
    if named:
        raise RunOverridesGate(
            secrets.scrub(
                f"Flow run {run_id} sets {', '.join(named)} in its own job variables, which whoever creates a run "
                "controls; the flow's environment decides who may approve, what is allowed, which database and "
                "servers are used and where the project is, so the run stops before planning anything."
            ),
            "Set environment variables in the worker's environment or in the deployment's job variables "
            "(prefect.yaml), never per run.",
        )
    if declared is None:
        return
    moved = []
    fields = type(options).model_fields
    for name in (n for n in OPERATOR_PARAMETERS if n in fields):  # the restore flow has no models
        ours, theirs = getattr(options, name), declared.get(name, fields[name].default)
        if not _same(name, ours, theirs):
            moved.append(f"{name} {ours!r} (the deployment's is {theirs!r})")
    if moved:
        raise RunOverridesGate(
            secrets.scrub(
                f"Flow run {run_id} asks for {'; '.join(moved)}. The project directory, environment, models and URL "
                "variable decide which settings are read (the approvers rules among them), which database is meant and "
                "what code is imported, so a run of a deployment keeps the deployment's, and the run stops before "
                "planning anything."
            ),
            "Run the deployment without overriding project_dir, environment, models or database_url_env, or create "
            "a deployment for them (prefect.yaml) and run it.",
        )


def _deployment_options(client: SyncPrefectClient, deployment_id: uuid.UUID, run_id: object) -> dict[str, Any]:
    """The `options` the deployment itself declares (what the operator wrote in prefect.yaml)."""
    try:
        deployment = client.read_deployment(deployment_id)
    except ObjectNotFound:
        raise RunOverridesGate(
            f"Flow run {run_id} belongs to deployment {deployment_id}, which no longer exists, so its project and "
            "environment cannot be checked against the operator's; the run stops before planning anything.",
            "Create the deployment again (prefect.yaml) and run it.",
        ) from None
    declared = (deployment.parameters or {}).get("options")
    return declared if isinstance(declared, dict) else {}


def _same(name: str, ours: object, theirs: object) -> bool:
    """Equal options; directories compared as the flow will use them (resolved here, where it runs)."""
    if name == "project_dir":
        return _directory(ours) == _directory(theirs)
    return ours == theirs


def _directory(value: object) -> Path:
    return Path(str(value)).expanduser().resolve()


def initiator() -> str:
    """Who started this run: the terminal's user, or the creator Prefect recorded, else `unknown`."""
    here = terminal()
    if here is not None:
        return here.user

    run_id = flow_run.id
    if run_id is None:
        return UNKNOWN

    with get_client(sync_client=True) as client:
        created = client.read_flow_run(uuid.UUID(str(run_id))).created_by
    name = created.display_value if created is not None else None
    return secrets.scrub(name.strip())[:200] if name and name.strip() else UNKNOWN
