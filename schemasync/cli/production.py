"""`schemasync production`: run the production deployment flow in this process.

The flow (`schemasync/workflows/flows/production.py`) plans, backs up, pauses for approval, applies, builds, verifies
and records. Here the run pauses in this process until an operator answers it from another
terminal (`schemasync approve RUN_ID`) or the Prefect UI; `--approve` makes it a pre-approved run,
recorded as such, that does not pause: the person at this terminal is the approver. That is said to
the flow through `flows.preapproval.at_terminal` (this process's context), never as a flow
parameter, so no run created through the Prefect API can claim it.

It uses the Prefect API configured by PREFECT_API_URL (or the active Prefect profile). Without
one, Prefect starts a temporary server inside this process that no other terminal can reach, so
nobody could answer the pause: then `--approve` is required. Everything that can be checked
without Prefect is checked first (settings, versions, the database URL), and Prefect is imported
only here, so `--help` and `status` stay fast.

The database URL never becomes a flow parameter (Prefect stores parameters): a `--database-url`
given here is handed to the flow through an environment variable of this process, by name.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
from collections.abc import Iterator
from typing import Annotated, Any

import typer

from schemasync import secrets
from schemasync.cli.app import _Notices, app, err, out, uses_settings
from schemasync.cli.info import app_version_of
from schemasync.config import Loaded, parse_duration
from schemasync.errors import ConfigError, ExitCode, SchemasyncError

URL_VARIABLE = "SCHEMASYNC_DEPLOY_DATABASE_URL"  # carries --database-url to the flow, by name
# Prefect's temporary server migrates a fresh database on first start; its 20 s default is too short on a
# busy or small machine (seen here: ~18-25 s on 2 loaded cores). A value the user set wins.
EPHEMERAL_STARTUP = ("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


def _prefect_api() -> str | None:
    """The configured Prefect API URL (environment, .env or profile), or None for an ephemeral server."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    os.environ.setdefault(*EPHEMERAL_STARTUP)  # before Prefect reads its settings
    from prefect.settings import get_current_settings  # lazy: start-up (Prefect, seconds)

    url = get_current_settings().api.url
    return str(url) if url else None


def _approver() -> str:
    try:
        name = getpass.getuser().strip()
    except (KeyError, OSError):
        name = ""
    if not name:
        raise ConfigError("The current user has no login name to record as the approver.", "Set the USER variable.")
    return name[:200]


@app.command(rich_help_panel="Production")
@uses_settings
def production(
    loaded: Loaded,
    *,
    approve: Annotated[
        bool,
        typer.Option(
            "--approve",
            help="Pre-approve the run: no pause; recorded as pre-approved by you. Required without a Prefect server.",
        ),
    ] = False,
    comment: Annotated[str, typer.Option("--comment", "-m", help="Comment recorded with the pre-approval.")] = "",
    allow_local_backup: Annotated[
        bool,
        typer.Option(
            "--allow-local-backup", help="Accept a backup kept only on this machine when no S3 bucket is set."
        ),
    ] = False,
    allow_destructive: Annotated[
        bool, typer.Option("--allow-destructive", help="Let a pre-approved run apply a plan that deletes data.")
    ] = False,
    allow_downgrade: Annotated[
        bool, typer.Option("--allow-downgrade", help="Deploy even though the database is at a newer version.")
    ] = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="Also drop what the models do not have (deletes data).")
    ] = False,
    concurrent_indexes: Annotated[
        bool, typer.Option("--concurrent-indexes", help="Build indexes on existing tables CONCURRENTLY.")
    ] = False,
    approval_timeout: Annotated[
        str | None,
        typer.Option(
            "--approval-timeout", help="How long to wait for approval (30min, 2h...; default 24h).", show_default=False
        ),
    ] = None,
) -> None:
    """Run the production deployment (Prefect flow): versions, plan, backup to S3, approval, apply, build, verify, record."""
    from schemasync import db  # lazy: start-up (psycopg)

    settings = loaded.settings
    if loaded.source_of("env") == "default":
        settings = settings.model_copy(update={"env": "production"})
    if len(comment) > 2000:
        raise ConfigError("The comment is longer than 2000 characters.", "Shorten --comment.")
    if comment and not approve:
        raise ConfigError(
            "--comment goes with --approve (a pre-approval).",
            "Approvers comment when they answer: schemasync approve RUN_ID --comment TEXT.",
        )
    timeout = None
    if approval_timeout is not None:
        try:
            timeout = parse_duration(approval_timeout)
        except ValueError as exc:
            raise ConfigError(f"--approval-timeout: {exc}.", "Use a duration such as 30min or 2h.") from None
        if timeout <= 0:
            raise ConfigError("--approval-timeout must be positive.", "Use a duration such as 30min or 2h.")
    app_version_of(loaded, required=True)
    url_env = None
    if loaded.source_of("database_url").startswith("flag") and settings.database_url is not None:
        os.environ[URL_VARIABLE] = settings.database_url.get_secret_value()
        url_env = URL_VARIABLE
    target = db.resolve(settings, dict(loaded.sources))  # a clear error now, before Prefect starts
    user = _approver()
    approver = user if approve else None

    api = _prefect_api()
    if api is None and not approve:
        raise ConfigError(
            "No Prefect API is configured (PREFECT_API_URL), so this run would use a temporary Prefect server inside "
            "this process, which no other terminal or UI can reach: nobody could approve it.",
            "Start a Prefect server (prefect server start) and set PREFECT_API_URL=http://127.0.0.1:4200/api, then "
            "answer from another terminal with schemasync approve RUN_ID; or run a pre-approved deployment with --approve.",
        )
    where = secrets.scrub(api) if api else "a temporary Prefect server in this process"
    err.print(
        f"Deploying to {target.display} ({settings.env}) with Prefect at {where}"
        + (f"; pre-approved by {approver}." if approver else "; the run will wait for approval."),
        markup=False,
        soft_wrap=True,
    )

    import httpx  # lazy: start-up (httpx, imported by Prefect below anyway)

    from schemasync.workflows.flows.production import ProductionOptions, production_deploy  # lazy: start-up (Prefect)
    from schemasync.workflows.preapproval import Terminal, at_terminal  # lazy: start-up (Prefect)

    options = ProductionOptions(
        project_dir=str(settings.project_dir.resolve()),
        environment=settings.env,
        database_url_env=url_env,
        models=settings.models,
        app_version=settings.app_version,
        allow_local_backup=allow_local_backup,
        allow_downgrade=allow_downgrade,
        prune=prune,
        concurrent_indexes=concurrent_indexes,
        approval_timeout=timeout,
    )
    # The person at this terminal is the initiator and, with --approve, the approver: said to the flow through
    # this process's context, never as a parameter (anyone who can create a run through the API sets those).
    here = Terminal(
        user=user, approve=approve, comment=secrets.scrub(comment.strip()), allow_destructive=allow_destructive
    )
    try:
        with _quiet_stderr_logs(), at_terminal(here):  # the run's log carries the engine's lines now
            state = production_deploy(options=options, return_state=True)
    except RuntimeError as exc:
        if api is None and "ephemeral" in str(exc):
            raise SchemasyncError(
                "Prefect's temporary server did not start in time, so the deployment did not begin; nothing was changed.",
                f"Run it again (the first start is the slowest), raise {EPHEMERAL_STARTUP[0]}, or start a server "
                "(prefect server start) and set PREFECT_API_URL.",
            ) from None
        if api is not None and "Failed to reach API" in str(exc):
            raise SchemasyncError(
                f"The Prefect API at {secrets.scrub(api)} cannot be reached, so the deployment did not begin; "
                "nothing was changed.",
                "Check PREFECT_API_URL and that the server is running (prefect server start).",
            ) from None
        raise
    except httpx.HTTPError as exc:  # the API went away during the run
        raise SchemasyncError(
            f"Lost the Prefect API at {secrets.scrub(api or 'the temporary server')} during the deployment "
            f"({type(exc).__name__}: {secrets.scrub(str(exc)) or 'no detail'}).",
            "Look at the run in the Prefect UI and at schemasync history before running it again: the database "
            "may or may not have been changed.",
        ) from None
    _report(state)


@contextlib.contextmanager
def _quiet_stderr_logs() -> Iterator[None]:
    handlers = [h for h in logging.getLogger("schemasync").handlers if isinstance(h, _Notices)]
    levels = [h.level for h in handlers]
    for handler in handlers:
        handler.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for handler, level in zip(handlers, levels, strict=True):
            handler.setLevel(level)


def _report(state: Any) -> None:
    """Print how the run ended; failures become their own error message and exit code."""
    from schemasync.deploy.model import Outcome, Result  # lazy: start-up (psycopg, the plan)

    if not state.is_completed():
        outcome = state.result(raise_on_failure=False)
        if isinstance(outcome, SchemasyncError):
            raise outcome
        if isinstance(outcome, BaseException):
            raise SchemasyncError(
                f"The production run ended {state.name}: {secrets.scrub(str(outcome))}",
                "See the run's logs (Prefect UI) for details; run again with --debug for the traceback.",
            )
        raise SchemasyncError(
            f"The production run ended {state.name}: {secrets.scrub(state.message or 'no message')}.",
            "See the run's logs in the Prefect UI.",
        )
    result = state.result()
    assert isinstance(result, Result)
    style = {Outcome.REJECTED: "yellow"}.get(result.outcome, "green")
    out.print(result.message, style=style, markup=False, soft_wrap=True)
    if result.summary_path:
        out.print(f"Summary: {result.summary_path}", markup=False, soft_wrap=True)
    if result.restore_command and result.outcome is Outcome.APPLIED:
        out.print(f"To roll back: {result.restore_command}", markup=False, soft_wrap=True)
    if result.outcome is Outcome.REJECTED:
        raise SystemExit(int(ExitCode.REFUSED))
