"""The engine's progress lines in the Prefect run's log, scrubbed.

The engine logs through `logging.getLogger("schemasync.*")` and never imports Prefect. Inside a flow
or task run, `forward_engine_logs()` makes those lines part of the run's log (the Prefect UI shows
them under the task that emitted them: "Backing up ... with pg_dump", "waiting for another
schemasync run", a lock_timeout retry), after `secrets.scrub`, because Prefect stores logs.

It is one handler for the whole process (flows may run in several threads at once), installed once,
and silent outside a run. The CLI's own stderr handler is quieted for the length of a run by the
command that starts it, so a line is not printed twice.

Prefect's engines log every exception that ends a task or flow run with its traceback. For a
`SchemasyncError` (a refusal, bad input, an unreachable database: a message and a hint written for the
operator) the traceback says nothing the message does not, and on a terminal it buries the one-paragraph
error under forty lines of Prefect internals; so those records keep their message and lose the
traceback, in the console and in the run's stored log alike. Anything else (a bug) keeps its traceback,
and so does everything under `--debug` (the engine logger at DEBUG).
"""

from __future__ import annotations

import logging

from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger

from schemasync import secrets
from schemasync.errors import SchemasyncError

ENGINE_LOGGER = "schemasync"
RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")


class RunLogBridge(logging.Handler):
    """Re-log engine records on the current Prefect run's logger (flow or task), scrubbed."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            logger = get_run_logger()
        except MissingContextError:
            return
        try:
            logger.log(record.levelno, "%s", secrets.scrub(record.getMessage()))
        except Exception:  # logging must never break a deployment
            self.handleError(record)


class ExpectedErrorsWithoutTraceback(logging.Filter):
    """Drop the traceback from run-log records about a `SchemasyncError`, unless debugging."""

    def filter(self, record: logging.LogRecord) -> bool:
        expected = record.exc_info and isinstance(record.exc_info[1], SchemasyncError)
        if expected and not logging.getLogger(ENGINE_LOGGER).isEnabledFor(logging.DEBUG):
            record.exc_info = None
            record.exc_text = None
        return True


def forward_engine_logs() -> None:
    """Install the bridge and the filter once; make sure INFO lines reach the bridge where nobody configured logging."""
    engine = logging.getLogger(ENGINE_LOGGER)
    if not any(isinstance(h, RunLogBridge) for h in engine.handlers):
        engine.addHandler(RunLogBridge())
    for name in RUN_LOGGERS:
        run_logger = logging.getLogger(name)
        if not any(isinstance(f, ExpectedErrorsWithoutTraceback) for f in run_logger.filters):
            run_logger.addFilter(ExpectedErrorsWithoutTraceback())
    if engine.level == logging.NOTSET or engine.level > logging.INFO:
        engine.setLevel(logging.INFO)
