"""After a schema change: build the app, then verify that app and database agree.

Both steps come after the point of no return (the change is committed), so they never undo
anything: a failure is reported with what was applied and how to roll back, by the caller.

- `build(settings)` runs the configured `build_command`.
- `verify(conn, settings, app_version)` always checks that the database matches the models (the
  diff is empty) and that the latest `schema_versions` row is the app's version; then it runs the
  configured `verify_command` and asks the optional `health_check_url` for the expected status.
  Every check runs and is reported, so one failure does not hide another.

Commands are the user's shell command lines (like npm scripts), run with `/bin/sh -c` in the project
directory, with the environment of this process and `command_timeout`. On timeout the whole process
group is stopped (SIGTERM, then SIGKILL), so a build's children do not linger. Only the last
`TAIL_LINES` lines of output are kept (memory stays flat whatever a build prints) and every line is
scrubbed of known secrets before it is logged or stored: a build that echoes its DATABASE_URL must
not leak the password.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import psycopg

from schemasync import engine, secrets
from schemasync.config import Settings
from schemasync.errors import SchemasyncError
from schemasync.history import versions

log = logging.getLogger(__name__)

TAIL_LINES = 40
KILL_GRACE = 5.0  # seconds between SIGTERM and SIGKILL when a command overstays its timeout
HEALTH_WAIT = 60.0  # at most this long (and never beyond command_timeout) for the expected status
SHELL = "/bin/sh"


class BuildFailed(SchemasyncError):
    """The build command failed or timed out (after the schema change was committed)."""

    def __init__(self, message: str, hint: str | None = None, *, run: CommandRun | None = None) -> None:
        super().__init__(message, hint)
        self.run = run


class VerificationFailed(SchemasyncError):
    """At least one verification check failed (after the schema change was committed)."""

    def __init__(
        self, message: str, hint: str | None = None, *, verification: DeployVerification | None = None
    ) -> None:
        super().__init__(message, hint)
        self.verification = verification


@dataclass(frozen=True, slots=True)
class CommandRun:
    """What a command did: its exit code (None when it was stopped at the timeout) and its last lines."""

    label: str
    command: str  # scrubbed
    returncode: int | None
    seconds: float
    tail: tuple[str, ...]
    timeout: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def outcome(self) -> str:
        if self.returncode is None:
            return f"stopped after {self.timeout:g}s (command_timeout)"
        return "succeeded" if self.ok else f"failed with exit code {self.returncode}"

    def describe(self) -> str:
        return f"{self.label} command `{self.command}` {self.outcome} in {self.seconds:.1f}s"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class DeployVerification:
    """Post-deploy checks (and the optional verify command) run after a schema change was committed."""

    checks: tuple[Check, ...]
    command: CommandRun | None = None

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok)


def run_command(label: str, command: str, *, cwd: Path, timeout: float, tail_lines: int = TAIL_LINES) -> CommandRun:
    """Run `command` with the shell; keep its last lines (stdout and stderr merged, scrubbed). Never raises
    for the command's own failure: the caller decides what a non-zero exit means."""
    shown = secrets.scrub(command)
    log.info("Running the %s command: %s", label, shown)
    started = time.monotonic()
    tail: deque[str] = deque(maxlen=tail_lines)
    try:
        proc = subprocess.Popen(
            [SHELL, "-c", command],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a timeout stops its children too
        )
    except OSError as exc:
        raise BuildFailed(
            f"The {label} command could not be started in {cwd}: {exc.strerror or exc}.",
            f"Check that {cwd} exists and that {SHELL} is available.",
        ) from None
    assert proc.stdout is not None
    reader = threading.Thread(target=_read_lines, args=(proc.stdout, tail), daemon=True)
    reader.start()
    returncode: int | None
    try:
        returncode = proc.wait(timeout=timeout if timeout > 0 else None)
    except subprocess.TimeoutExpired:
        _stop_group(proc)
        returncode = None
    except BaseException:  # Ctrl-C: do not leave the command running
        _stop_group(proc)
        raise
    reader.join(timeout=KILL_GRACE)
    run = CommandRun(label, shown, returncode, time.monotonic() - started, tuple(tail), timeout)
    log.info("%s", run.describe()[0].upper() + run.describe()[1:])
    return run


def _read_lines(stream: object, tail: deque[str]) -> None:
    with contextlib.suppress(OSError, ValueError):
        for raw in stream:  # type: ignore[attr-defined]
            tail.append(secrets.scrub(raw.decode("utf-8", "replace").rstrip("\r\n")))


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, KILL_GRACE)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _last_lines(run: CommandRun, n: int = 5) -> str:
    lines = [line for line in run.tail if line.strip()][-n:]
    return (" Last output: " + " | ".join(lines)) if lines else " It printed nothing."


def build(settings: Settings) -> CommandRun | None:
    """Run the configured build command (None when there is none); BuildFailed when it does not succeed."""
    if not settings.build_command:
        log.info("No build command is configured (SCHEMASYNC_BUILD_COMMAND); skipping the build.")
        return None
    run = run_command("build", settings.build_command, cwd=settings.project_dir, timeout=settings.command_timeout)
    if not run.ok:
        raise BuildFailed(
            f"The {run.describe()}.{_last_lines(run)}",
            "Fix the build and deploy the app again; the build's output is in the run's logs.",
            run=run,
        )
    return run


def check_health(url: str, expected: int, *, wait: float) -> Check:
    """GET `url` until it answers `expected` or `wait` seconds have passed (a fresh app may need a moment)."""
    shown = secrets.scrub(url)
    deadline = time.monotonic() + wait
    pause = 1.0
    last = "no answer"
    while True:
        request_timeout = max(1.0, min(10.0, deadline - time.monotonic()))
        try:
            with urllib.request.urlopen(url, timeout=request_timeout) as response:  # noqa: S310 (configured URL, http(s) only: see config)
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            status = int(exc.code)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            status = None
            last = secrets.scrub(str(getattr(exc, "reason", exc)))
        if status is not None:
            if status == expected:
                return Check("health check", True, f"{shown} answered HTTP {status}")
            last = f"HTTP {status}"
        if time.monotonic() + pause > deadline:
            return Check("health check", False, f"{shown} answered {last}, expected HTTP {expected} (waited {wait:g}s)")
        time.sleep(pause)
        pause = min(pause * 2, 5.0)


def verify(conn: psycopg.Connection, settings: Settings, *, app_version: str) -> DeployVerification:
    """Every check, run and reported; VerificationFailed (carrying the result) naming each failed one."""
    prepared = engine.prepare(conn, settings, measure=False)
    in_sync = prepared.in_sync
    drift = "; ".join(prepared.plan.summary) or "see schemasync diff"
    checks = [
        Check(
            "schema matches the models",
            in_sync,
            "the diff against the models is empty" if in_sync else f"the database still differs: {drift}",
        )
    ]
    latest = versions.latest(conn)
    recorded = latest.schema_version if latest else None
    checks.append(
        Check(
            "recorded version",
            recorded == app_version,
            f"the latest schema_versions row is {recorded or 'missing'}"
            + ("" if recorded == app_version else f", expected {app_version}"),
        )
    )
    command = None
    if settings.verify_command:
        command = run_command(
            "verify", settings.verify_command, cwd=settings.project_dir, timeout=settings.command_timeout
        )
        checks.append(
            Check("verify command", command.ok, command.describe() + ("" if command.ok else _last_lines(command)))
        )
    if settings.health_check_url:
        wait = min(HEALTH_WAIT, settings.command_timeout) if settings.command_timeout > 0 else HEALTH_WAIT
        checks.append(check_health(settings.health_check_url, settings.health_check_status, wait=wait))
    result = DeployVerification(tuple(checks), command)
    for check in result.checks:
        log.log(logging.INFO if check.ok else logging.WARNING, "Verify %s: %s", check.name, check.detail)
    if not result.ok:
        raise VerificationFailed(
            "Verification failed: " + "; ".join(f"{c.name}: {c.detail}" for c in result.failed) + ".",
            "Look at the checks above; the run's logs hold the commands' output.",
            verification=result,
        )
    return result
