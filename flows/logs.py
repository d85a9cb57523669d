"""The engine's progress lines in the Prefect run's log, scrubbed.

The engine logs through `logging.getLogger("schemasync.*")` and never imports Prefect. Inside a flow
or task run, `forward_engine_logs()` makes those lines part of the run's log (the Prefect UI shows
them under the task that emitted them: "Backing up ... with pg_dump", "waiting for another
schemasync run", a lock_timeout retry), after `secrets.scrub`, because Prefect stores logs.

It is one handler for the whole process (flows may run in several threads at once), installed once,
and silent outside a run. The CLI's own stderr handler is quieted for the length of a run by the
command that starts it, so a line is not printed twice.
"""

from __future__ import annotations

import logging

from schemasync import secrets

ENGINE_LOGGER = "schemasync"


class RunLogBridge(logging.Handler):
    """Re-log engine records on the current Prefect run's logger (flow or task), scrubbed."""

    def emit(self, record: logging.LogRecord) -> None:
        from prefect.exceptions import MissingContextError
        from prefect.logging import get_run_logger

        try:
            logger = get_run_logger()
        except MissingContextError:
            return
        try:
            logger.log(record.levelno, "%s", secrets.scrub(record.getMessage()))
        except Exception:  # logging must never break a deployment
            self.handleError(record)


def forward_engine_logs() -> None:
    """Install the bridge once; make sure INFO lines reach it even where nobody configured logging."""
    engine = logging.getLogger(ENGINE_LOGGER)
    if not any(isinstance(h, RunLogBridge) for h in engine.handlers):
        engine.addHandler(RunLogBridge())
    if engine.level == logging.NOTSET or engine.level > logging.INFO:
        engine.setLevel(logging.INFO)
