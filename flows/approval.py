"""The approval gate of production runs: what the flow asks, how it waits, and how operators answer.

Both halves of the protocol live here so the keys cannot drift apart:

- the flow side: `wait_for_approval` publishes the plan (artifact `schemasync-plan`, Markdown) and the
  request (artifact `schemasync-approval`, a one-row table: database, versions, summary, hazards,
  backup) on the flow run, then pauses with `pause_flow_run(wait_for_input=Approval...)`;
- the operator side: `pending_approvals` (for `schemasync runs`) finds paused runs by that request
  artifact, and `answer` (for `schemasync approve` / `reject`) resumes a run with an `Approval`.

Prefect 3.9 facts this relies on are in `flows/README.md`. In short: the pause blocks in this process
and polls the API; the resume endpoint validates the input against the schema the paused run saved
and answers HTTP 200 with status REJECT (or ABORT when the run is no longer paused), so `answer`
checks the status itself; a timeout fails the run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout, ObjectNotFound, PrefectHTTPStatusError
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from prefect.input.run_input import keyset_from_base_key
from prefect.settings import get_current_settings
from pydantic import BaseModel, Field, field_validator

from schemasync import safetext, secrets
from schemasync.errors import ConfigError, ExitCode, SchemasyncError

log = logging.getLogger(__name__)

PLAN_ARTIFACT_KEY = "schemasync-plan"
"""Markdown artifact: the plan exactly as the approver sees it (the pause description)."""
REQUEST_ARTIFACT_KEY = "schemasync-approval"
"""Table artifact, one row of `ApprovalRequest`: what `schemasync runs` lists."""
DEFAULT_PAUSE_KEY = "schemasync-approval"
"""Pause key; Prefect stores the input under `paused-<key>-{schema,description,response}`."""

T = TypeVar("T")


# The docstring and field descriptions below are shown to the approver in the Prefect UI's resume form.
class Approval(RunInput):
    """Approve or reject the schema change described above."""

    approve: bool = Field(
        title="Approve",
        description="Tick to apply the plan shown above to the database; leave unticked to reject it (nothing is changed).",
    )
    approver: str = Field(
        title="Approver",
        min_length=1,
        max_length=200,
        pattern=safetext.NAME_PATTERN,  # the server refuses a resume whose name holds control characters
        description="Your name or login; recorded in schema_versions with the decision.",
    )
    comment: str = Field(
        default="",
        title="Comment",
        max_length=2000,
        description="Why you approve or reject; recorded in schema_versions. Please give a reason when rejecting.",
    )

    @field_validator("comment")
    @classmethod
    def _comment_as_stored(cls, value: str) -> str:
        """Whatever sent it (CLI, Prefect UI), the flow sees the comment with known secrets masked."""
        return safetext.stored_note(value)


class ApprovalRequest(BaseModel):
    """What the approver is asked to approve, as plain values (published as a table artifact).

    Every text passes through `secrets.scrub` before it leaves the process; `database` should be
    `Database.display` (never a URL with a password).
    """

    database: str
    environment: str = ""
    app_version: str | None = None
    database_version: str | None = None
    summary: str = Field(description="One line, e.g. '3 changes, 1 destructive: ...'.")
    hazards: list[str] = Field(default_factory=list)
    backup: str | None = Field(default=None, description="Where the pre-change backup is (URI or path).")
    plan_hash: str | None = Field(default=None, description="Hash of the schema the plan was made from.")

    def row(self) -> dict[str, str]:
        values = self.model_dump()
        values["hazards"] = ", ".join(self.hazards)
        return {k: secrets.scrub("" if v is None else str(v)) for k, v in values.items()}


class ApprovalTimeout(SchemasyncError):
    """Nobody answered within the approval window; the run stops before changing anything."""

    exit_code = ExitCode.REFUSED


class ApprovalUnavailable(SchemasyncError):
    """The Prefect API stayed unreachable while the run waited, so the answer cannot be known."""


# --------------------------------------------------------------------------------------------------
# Flow side
# --------------------------------------------------------------------------------------------------


def wait_for_approval(
    description: str,
    *,
    request: ApprovalRequest | None = None,
    key: str = DEFAULT_PAUSE_KEY,
    timeout: int = 3600,
    poll_interval: int = 10,
    api_grace: float = 120.0,
) -> Approval:
    """Publish the plan, pause this flow run until an operator answers, and return the answer.

    `description` is Markdown: it becomes the resume form's text and the `schemasync-plan` artifact.
    A rejection is an answer (`approve=False`), not an error: the caller records it and stops.

    Raises `ApprovalTimeout` when nobody answers within `timeout` seconds (the run then ends Failed
    with that message). While paused, Prefect's client retries a lost API connection for about a
    minute; if the API stays away longer (a server restart), this keeps polling instead of crashing
    the run, and gives up with `ApprovalUnavailable` only when the API is still unreachable
    `api_grace` seconds after the approval window closed.
    """
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        raise RuntimeError("wait_for_approval() must be called inside a flow run")
    run_id = context.flow_run.id
    text = secrets.scrub(description)
    create_markdown_artifact(text, key=PLAN_ARTIFACT_KEY, description="Plan awaiting approval")
    req = request or ApprovalRequest(database="", summary=_first_line(text))
    create_table_artifact([req.row()], key=REQUEST_ARTIFACT_KEY, description="Approval request")
    logger = _run_logger()
    logger.info(
        "Waiting up to %ss for approval of flow run %s: schemasync approve %s [--comment TEXT], "
        "or schemasync reject %s --comment TEXT, or the Prefect UI.",
        timeout,
        run_id,
        run_id,
        run_id,
    )
    form = Approval.with_initial_data(description=text)
    deadline = time.monotonic() + timeout
    answer: Approval | None = None
    while answer is None:
        remaining = int(deadline - time.monotonic())
        if remaining <= 0:
            raise _timeout(run_id, timeout)
        try:
            answer = pause_flow_run(wait_for_input=form, key=key, timeout=remaining, poll_interval=poll_interval)
        except FlowPauseTimeout:
            raise _timeout(run_id, timeout) from None
        except (httpx.TransportError, PrefectHTTPStatusError) as exc:
            if not _transient(exc):
                raise
            logger.warning("Lost the Prefect API while waiting for approval (%s); still waiting.", type(exc).__name__)
            answer = _wait_through_outage(
                run_id, key, form, deadline=deadline, timeout=timeout, poll=poll_interval, grace=api_grace
            )
    assert isinstance(answer, Approval)
    verdict = "approved" if answer.approve else "rejected"
    said = f": {answer.comment}" if answer.comment else ""
    logger.info("%s", secrets.scrub(f"Flow run {run_id} {verdict} by {answer.approver}{said}"))
    return answer


def _run_logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The flow run's logger (its lines reach the Prefect UI), or this module's outside a run."""
    from prefect.exceptions import MissingContextError
    from prefect.logging import get_run_logger

    try:
        return get_run_logger()
    except MissingContextError:
        return log


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip().lstrip("#").strip()[:200]
    return ""


def _timeout(run_id: uuid.UUID, timeout: int) -> ApprovalTimeout:
    """The error to raise on timeout, after making sure the run has left Paused.

    Once the pause has expired on the server, the server replaces the first state the run proposes
    with its own Failed("The flow was failed and never resumed."). Taking that transition here lets
    the flow engine's Failed state, which carries this error's message, become the final one.
    """
    from prefect.states import Failed

    message = f"No approval arrived within {timeout}s."
    with contextlib.suppress(httpx.HTTPError, OSError), get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
        if run.state is not None and run.state.is_paused():
            client.set_flow_run_state(run_id, Failed(message=message))
    return ApprovalTimeout(
        f"No approval arrived for flow run {run_id} within {timeout}s, so the run stops before applying anything.",
        "Start a new production run when an approver is available, or allow more time for approval.",
    )


def _transient(exc: Exception) -> bool:
    return not isinstance(exc, PrefectHTTPStatusError) or exc.response.status_code >= 500


def _wait_through_outage(
    run_id: uuid.UUID, key: str, form: type[Approval], *, deadline: float, timeout: int, poll: int, grace: float
) -> Approval | None:
    """Follow the run's state across an API outage, as `pause_flow_run` would have.

    Returns the answer once the run is resumed, or None when the pause never reached the server
    (the caller then pauses again).
    """
    keyset = keyset_from_base_key(f"paused-{key}")
    form_checked = False
    while True:
        run = _retrying(lambda c: c.read_flow_run(run_id), until=deadline + grace)
        state = run.state
        if state is not None and state.is_running():
            if key not in (run.empirical_policy.pause_keys or set()):
                return None
            _run_logger().info("Resuming flow run execution after the Prefect API came back.")
            loaded = _retrying(lambda c: form.load(keyset, flow_run_id=run_id), until=deadline + grace)
            # async_dispatch types it "or a coroutine"; in this sync flow it runs the sync side
            assert isinstance(loaded, Approval)
            return loaded
        if state is None or not state.is_paused():
            raise RuntimeError(
                f"flow run {run_id} left the Paused state for {state and state.type.value} while waiting"
            )
        if not form_checked:  # the outage may have struck between pausing and saving the form
            if not _retrying(lambda c: _has_input(c, run_id, keyset["schema"]), until=deadline + grace):
                _retrying(lambda c: form.save(keyset, flow_run_id=run_id), until=deadline + grace)
            form_checked = True
        if time.monotonic() >= deadline:
            raise _timeout(run_id, timeout)
        time.sleep(poll)


def _has_input(client: SyncPrefectClient, run_id: uuid.UUID, key: str) -> bool:
    try:
        client.read_flow_run_input(flow_run_id=run_id, key=key)
    except PrefectHTTPStatusError as exc:
        if exc.response.status_code == 404:
            return False
        raise
    return True


def _retrying(call: Callable[[SyncPrefectClient], T], *, until: float) -> T:
    delay = 1.0
    while True:
        try:
            with get_client(sync_client=True) as client:
                return call(client)
        except (httpx.TransportError, PrefectHTTPStatusError) as exc:
            if not _transient(exc):
                raise
            if time.monotonic() >= until:
                raise ApprovalUnavailable(
                    f"The Prefect API stayed unreachable ({type(exc).__name__}) while this run waited for approval, "
                    "so whether it was approved cannot be known; nothing was applied.",
                    "Bring the Prefect server back and start a new production run.",
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


# --------------------------------------------------------------------------------------------------
# Operator side (used by `schemasync approve`, `reject`, `runs`)
# --------------------------------------------------------------------------------------------------


class PrefectUnavailable(SchemasyncError):
    """The configured Prefect API could not be used."""


class RunNotAwaitingApproval(SchemasyncError):
    """The flow run exists but there is nothing to answer."""


class AnswerRefused(SchemasyncError):
    """The Prefect API did not accept the answer."""


@dataclass(frozen=True, slots=True)
class PendingApproval:
    """A paused run waiting for an answer, as `schemasync runs` shows it."""

    run_id: str
    run_name: str
    flow_name: str
    paused_at: str | None
    expires_at: str | None
    request: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "run_name": self.run_name,
            "flow": self.flow_name,
            "paused_at": self.paused_at,
            "expires_at": self.expires_at,
            **self.request,
        }


@dataclass(frozen=True, slots=True)
class Answered:
    run_id: str
    run_name: str
    flow_name: str


def api_url() -> str:
    """The configured Prefect API URL (env, .env or Prefect profile); refuse to guess one."""
    url = get_current_settings().api.url
    if not url:
        raise ConfigError(
            "No Prefect API is configured, so there is no server to find paused runs on.",
            "Set PREFECT_API_URL to the API of the server the production run uses, e.g. "
            "PREFECT_API_URL=http://127.0.0.1:4200/api (or `prefect config set PREFECT_API_URL=...`).",
        )
    return secrets.scrub(str(url))


def _client_errors(url: str, action: str, exc: Exception) -> SchemasyncError:
    if isinstance(exc, PrefectHTTPStatusError):
        code = exc.response.status_code
        hint = (
            "Check PREFECT_API_KEY / PREFECT_API_AUTH_STRING for this server."
            if code in (401, 403)
            else "Check that PREFECT_API_URL points at a Prefect server's /api and that the server is healthy."
        )
        return PrefectUnavailable(f"The Prefect API at {url} answered HTTP {code} while {action}.", hint)
    return PrefectUnavailable(
        f"The Prefect API at {url} cannot be reached ({type(exc).__name__}: {secrets.scrub(str(exc)) or 'no detail'}) while {action}.",
        "Check PREFECT_API_URL and that the server is running (`prefect server start`).",
    )


def answer(run_id: uuid.UUID | str, approval: Approval) -> Answered:
    """Resume a paused run with `approval`; raise a clear error unless the API accepted it."""
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.responses import SetStateStatus

    rid = uuid.UUID(str(run_id))
    url = api_url()
    try:
        with get_client(sync_client=True) as client:
            try:
                run = client.read_flow_run(rid)
            except ObjectNotFound:
                raise RunNotAwaitingApproval(
                    f"There is no flow run {rid} on the Prefect API at {url}.",
                    "Check the id (`schemasync runs` lists the runs waiting for approval) and PREFECT_API_URL.",
                ) from None
            flow_name = _flow_name(client, run.flow_id)
            _require_waiting(run, rid, flow_name)
            result = client.resume_flow_run(rid, run_input=approval.model_dump(mode="json"))
    except SchemasyncError:
        raise
    except (httpx.HTTPError, OSError) as exc:
        raise _client_errors(url, f"answering flow run {rid}", exc) from None
    if result.status == SetStateStatus.ACCEPT:
        return Answered(str(rid), run.name, flow_name)
    reason = getattr(result.details, "reason", None) or "no reason given"
    if result.state is not None and result.state.type == StateType.FAILED:
        raise RunNotAwaitingApproval(
            f"Flow run {rid} ({run.name}) can no longer be resumed: its approval window has closed ({reason}).",
            "Start a new production run.",
        )
    if result.status == SetStateStatus.REJECT:
        raise AnswerRefused(
            f"The Prefect API refused the answer for flow run {rid} ({run.name}): {secrets.scrub(reason)}. The run is still paused.",
            "The run may expect a different input than schemasync's Approval form; answer it in the Prefect UI.",
        )
    raise RunNotAwaitingApproval(
        f"Flow run {rid} ({run.name}) was not resumed ({result.status.value}: {reason}); someone else may have answered it first.",
        "Check its state in the Prefect UI or with `schemasync runs`.",
    )


def _require_waiting(run: Any, rid: uuid.UUID, flow_name: str) -> None:
    state = run.state
    if state is None or not state.is_paused():
        what = state.name if state is not None else "without a state"
        raise RunNotAwaitingApproval(
            f"Flow run {rid} ({run.name}, flow {flow_name}) is {what}, not paused: there is nothing to approve or reject.",
            "`schemasync runs` lists the runs waiting for approval.",
        )
    if not state.state_details.run_input_keyset:
        raise RunNotAwaitingApproval(
            f"Flow run {rid} ({run.name}, flow {flow_name}) is paused but does not wait for an approval form.",
            "Resume it from the Prefect UI; schemasync only answers runs paused by its approval step.",
        )


def _flow_name(client: SyncPrefectClient, flow_id: uuid.UUID) -> str:
    try:
        return client.read_flow(flow_id).name
    except ObjectNotFound:
        return "?"


def pending_approvals(limit: int = 200) -> list[PendingApproval]:
    """Paused runs that published an approval request, oldest pause first."""
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import ArtifactSort

    url = api_url()
    paused = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED])))
    try:
        with get_client(sync_client=True) as client:
            runs = [r for r in client.read_flow_runs(flow_run_filter=paused, limit=limit) if r.state]
            if not runs:
                return []
            artifacts = client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[REQUEST_ARTIFACT_KEY])),
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[r.id for r in runs])),
                sort=ArtifactSort.CREATED_DESC,
            )
            flows = {fid: _flow_name(client, fid) for fid in {r.flow_id for r in runs}}
    except (httpx.HTTPError, OSError) as exc:
        raise _client_errors(url, "listing paused runs", exc) from None
    latest: dict[uuid.UUID, dict[str, str]] = {}
    for artifact in artifacts:  # newest first: a retried run's latest request wins
        if artifact.flow_run_id is not None and artifact.flow_run_id not in latest:
            latest[artifact.flow_run_id] = _table_row(artifact.data)
    pending = [
        PendingApproval(
            run_id=str(r.id),
            run_name=r.name,
            flow_name=flows.get(r.flow_id, "?"),
            paused_at=r.state.timestamp.isoformat() if r.state and r.state.timestamp else None,
            expires_at=(
                r.state.state_details.pause_timeout.isoformat()
                if r.state and r.state.state_details.pause_timeout
                else None
            ),
            request=latest[r.id],
        )
        for r in runs
        if r.id in latest
    ]
    return sorted(pending, key=lambda p: p.paused_at or "")


def _table_row(data: Any) -> dict[str, str]:
    """First row of a table artifact (stored as JSON text of a list of dicts)."""
    try:
        table = json.loads(data) if isinstance(data, str) else data
    except json.JSONDecodeError:
        return {}
    if isinstance(table, list) and table and isinstance(table[0], dict):
        return {str(k): "" if v is None else str(v) for k, v in table[0].items()}
    return {}
