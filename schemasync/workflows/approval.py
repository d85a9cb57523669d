"""The approval gate of production runs: what the flow asks, how it waits, and how operators answer.

Both halves of the protocol live here so the keys cannot drift apart:

- the flow side: `wait_for_approval` writes the request as the run's own input (`schemasync-request`:
  database, versions, summary, hazards, backup, initiator, who may approve, the pin's hash), publishes
  the plan (artifact `schemasync-plan`, Markdown) and the request (artifact `schemasync-approval`, a
  one-row table, for the UI), then pauses with `pause_flow_run(wait_for_input=Approval...)`; an answer
  the API accepted but the form does not is `InvalidAnswer`, never a traceback;
- the operator side: `pending_approvals` (for `schemasync runs`) lists paused runs by that input
  (never by artifact: any API user can attach one to any run), and `answer` (for `schemasync approve`
  / `reject`) checks the approver against the request, then resumes the run with an `Approval`.

Prefect 3.9 facts this relies on are in `flows/README.md`. In short: the pause blocks in this process
and polls the API; the resume endpoint validates the input against the schema the paused run saved
and answers HTTP 200 with status REJECT (or ABORT when the run is no longer paused), so `answer`
checks the status itself; a timeout fails the run.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.responses import SetStateStatus
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout, MissingContextError, ObjectNotFound, PrefectHTTPStatusError
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from prefect.input.run_input import keyset_from_base_key
from prefect.logging import get_run_logger
from prefect.settings import get_current_settings
from prefect.states import Failed
from pydantic import BaseModel, Field, ValidationError, field_validator

from schemasync import safetext, secrets
from schemasync.deploy import gate
from schemasync.errors import ConfigError, ExitCode, Refused, SchemasyncError

log = logging.getLogger(__name__)

PLAN_ARTIFACT_KEY = "schemasync-plan"
"""Markdown artifact: the plan exactly as the approver sees it (the pause description)."""
REQUEST_ARTIFACT_KEY = "schemasync-approval"
"""Table artifact, one row of `ApprovalRequest`, for people in the Prefect UI (any API user can add one)."""
REQUEST_INPUT_KEY = "schemasync-request"
"""Flow run input holding the `ApprovalRequest` as the flow wrote it: what `schemasync runs` lists and what
`schemasync approve` checks the approver against. A run's input keys are unique, so nobody adds a second."""
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
    covers: str | None = Field(default=None, description="SHA-256 of everything the approval covers (the pin).")
    initiator: str = Field(default="", description="Who started the run (`unknown` when Prefect does not say).")
    approvers: list[str] = Field(default_factory=list, description="Who may approve (empty: anyone who can answer).")
    separate_approver: bool = Field(default=False, description="The approver must not be the initiator.")

    def row(self) -> dict[str, str]:
        values = self.model_dump()
        values["hazards"] = ", ".join(self.hazards)
        values["approvers"] = ", ".join(self.approvers)
        values["separate_approver"] = "yes" if self.separate_approver else ""
        return {k: secrets.scrub("" if v is None else str(v)) for k, v in values.items()}


class ApprovalTimeout(SchemasyncError):
    """Nobody answered within the approval window; the run stops before changing anything."""

    exit_code = ExitCode.REFUSED


class ApprovalUnavailable(SchemasyncError):
    """The Prefect API stayed unreachable while the run waited, so the answer cannot be known."""


class InvalidAnswer(Refused):
    """The run was resumed with an answer that is not a valid `Approval` (the API's check is not ours)."""


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
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        raise RuntimeError("wait_for_approval() must be called inside a flow run")
    run_id = context.flow_run.id
    text = secrets.scrub(description)
    create_markdown_artifact(text, key=PLAN_ARTIFACT_KEY, description="Plan awaiting approval")
    req = request or ApprovalRequest(database="", summary=_first_line(text))
    _save_request(run_id, req)
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
        except ValidationError as exc:
            raise _invalid(run_id, exc) from None
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


def _save_request(run_id: uuid.UUID, request: ApprovalRequest) -> None:
    """Write the request as the run's own input (replacing the one of an earlier attempt of this run)."""
    value = request.model_dump_json()
    with get_client(sync_client=True) as client:
        try:
            client.create_flow_run_input(run_id, REQUEST_INPUT_KEY, value)
        except PrefectHTTPStatusError as exc:
            if exc.response.status_code != 409:
                raise
            client.delete_flow_run_input(run_id, REQUEST_INPUT_KEY)
            client.create_flow_run_input(run_id, REQUEST_INPUT_KEY, value)


def _invalid(run_id: uuid.UUID, exc: ValidationError) -> InvalidAnswer:
    """The error for a resume whose input the Prefect API accepted and the `Approval` form does not."""
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'the answer'}: {error['msg']}"
        for error in exc.errors(include_input=False, include_url=False)
    )
    return InvalidAnswer(
        secrets.scrub(
            f"Flow run {run_id} was resumed with an answer that is not a valid approval ({problems}), so it "
            "counts as no approval and nothing was applied."
        ),
        "Answer with `schemasync approve RUN_ID` / `schemasync reject RUN_ID`, or the Prefect UI's form, on a "
        "new run; a run resumed any other way is refused.",
    )


def _run_logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The flow run's logger (its lines reach the Prefect UI), or this module's outside a run."""
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
            request = _request_of(client, rid)
            if approval.approve and request is not None:  # the flow checks again: this only saves the run
                gate.check_approver(
                    approval.approver,
                    initiator=request.initiator or gate.UNKNOWN,
                    approvers=request.approvers,
                    separate=request.separate_approver,
                )
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


def _request_of(client: SyncPrefectClient, run_id: uuid.UUID) -> ApprovalRequest | None:
    """The request the paused run wrote as its own input, or None when it wrote none (not our gate)."""
    try:
        text = client.read_flow_run_input(flow_run_id=run_id, key=REQUEST_INPUT_KEY)
    except PrefectHTTPStatusError as exc:
        if exc.response.status_code == 404:
            return None
        raise
    try:
        return ApprovalRequest.model_validate_json(text)
    except ValidationError:
        return None


def pending_approvals(limit: int = 200) -> list[PendingApproval]:
    """Paused runs waiting for schemasync's approval form, oldest pause first.

    The request shown is the run's own input (`REQUEST_INPUT_KEY`, written by the flow before it
    paused), never an artifact: any API user can attach an artifact with any key to any run.
    """
    url = api_url()
    paused = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED])))
    latest: dict[uuid.UUID, dict[str, str]] = {}
    try:
        with get_client(sync_client=True) as client:
            runs = [r for r in client.read_flow_runs(flow_run_filter=paused, limit=limit) if r.state]
            for r in runs:
                if r.state is not None and r.state.state_details.run_input_keyset:
                    request = _request_of(client, r.id)
                    if request is not None:
                        latest[r.id] = request.row()
            flows = {fid: _flow_name(client, fid) for fid in {r.flow_id for r in runs}}
    except (httpx.HTTPError, OSError) as exc:
        raise _client_errors(url, "listing paused runs", exc) from None
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
