"""Errors the user can act on, and the exit codes the CLI maps them to.

Every failure that reaches the user goes through `SchemasyncError`: a one-paragraph message saying what
went wrong, a hint saying what to do, and an exit code. Anything else is a bug and is shown as such
(with a traceback only under `--debug`). Messages are scrubbed of secrets before they are shown
(`schemasync.secrets`).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented exit codes; scripts and CI depend on them, so never renumber."""

    OK = 0
    ERROR = 1  # something failed: connection, bad input, a failed statement; nothing was changed
    DRIFT = 2  # `check` / `drift`: the database does not match the models (changes pending)
    REFUSED = 3  # a safety check or the operator said no: downgrade, destructive plan, stale plan
    USAGE = 64  # unknown command or option (sysexits EX_USAGE), so 2 keeps meaning "drift"
    INTERRUPTED = 130  # Ctrl-C


class SchemasyncError(Exception):
    """A failure explained to the user: what happened, and what to do about it.

    A refusal by a safety rule carries the rule's stable `code` (`plan/policy.py`), written at the start
    of the message, so the CLI's error line, the production summary, the audit row and a script reading
    them all show the same code without each front end adding it.
    """

    exit_code: ExitCode = ExitCode.ERROR
    code: str | None = None

    def __init__(
        self, message: str, hint: str | None = None, *, exit_code: ExitCode | None = None, code: str | None = None
    ) -> None:
        if code is not None:
            self.code = code
        if self.code:
            message = f"[{self.code}] {message}"
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class ConfigError(SchemasyncError):
    """Settings, flags, models or versions that cannot be used as given."""


class ConnectionFailed(SchemasyncError):
    """The database could not be reached or refused us."""


class Refused(SchemasyncError):
    """A safety rule stopped the command before anything was changed."""

    exit_code = ExitCode.REFUSED


class ApplyFailed(SchemasyncError):
    """A plan failed while running; the transaction was rolled back."""


class CommittedApplyFailed(ApplyFailed):
    """A step after the committed transaction failed (an online or concurrent step): the schema change and
    its version row are in place, that step's change is not. Callers must not report "nothing applied"."""
