"""Prefect tasks of the drift check: check one target, read a Secret block. The logic is in `schemasync.drift`.

`check_target` never fails for a target's own problem (unreachable, URL not set, models that do not
import): that is the target's result, so one bad database never stops the fleet. No retries: the
engine already retries transient connection failures with backoff, and a check is cheap to run again
on the next schedule. No caching or persisted results: a drift check must look at the database now,
and results name databases (never passwords, but there is no reason to keep them on disk).
"""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.blocks.system import Secret
from prefect.cache_policies import NONE
from prefect.settings import get_current_settings

from schemasync import secrets
from schemasync.drift import DriftResult, DriftStatus, FleetTarget
from schemasync.drift import check_target as check_one
from schemasync.errors import ConfigError


def read_secret_block(name: str, *, require_api: bool = False) -> str:
    """The text in the Prefect Secret block `name` (a database URL), registered as a secret at once.

    `require_api`: refuse rather than start a throwaway ephemeral server, which never holds the block
    (the CLI's case; inside a flow run the API is always configured).
    """
    if require_api and not get_current_settings().api.url:
        raise ConfigError(
            f"Reading the Prefect Secret block {name!r} needs a Prefect API, and none is configured.",
            "Set PREFECT_API_URL (or a Prefect profile) to the server holding the block, or use url_env instead.",
        )
    try:
        value = Secret.load(name).get()  # type: ignore[union-attr]
    except ValueError as exc:
        if "Unable to find" in str(exc) or "not found" in str(exc).lower():
            raise ConfigError(
                f"There is no Prefect Secret block called {name!r} on the configured Prefect server.",
                f"Create it (prefect block create secret, or Secret(value=URL).save({name!r})) or fix url_secret.",
            ) from None
        raise ConfigError(
            f"The Prefect Secret block {name!r} could not be read: {secrets.scrub(str(exc))}.",
            "Check that it is a Secret block holding the database URL.",
        ) from None
    if not isinstance(value, str):
        raise ConfigError(
            f"The Prefect Secret block {name!r} holds {type(value).__name__}, not a database URL.",
            "Store the URL as the block's value, e.g. postgresql://user:password@host:5432/dbname.",
        )
    secrets.register(value)
    return value


@task(name="check-target", task_run_name="check-{target.name}", cache_policy=NONE, persist_result=False)
def check_target(target: FleetTarget) -> DriftResult:
    """Versions, diff and hazards of one target; its problems come back as its result."""
    logger = get_run_logger()
    try:
        result = check_one(target, read_secret=read_secret_block)
    except Exception as exc:  # a bug: reported on this target's row, never as an unscrubbed traceback
        result = DriftResult(
            target=target.name,
            status=DriftStatus.ERROR,
            error=f"unexpected {type(exc).__name__}: {secrets.scrub(str(exc))} (a bug in schemasync: please report it)",
        )
    if result.status is DriftStatus.DRIFTED:
        logger.warning(
            "%s (%s) drifted: %d change(s), %d deleting data, %d model error(s), %d unmanaged-declared",
            result.target,
            result.database,
            result.changes,
            len(result.destructive),
            len(result.model_errors),
            len(result.unmanaged_declared),
        )
    elif result.status is DriftStatus.IN_SYNC:
        logger.info("%s (%s) matches its models", result.target, result.database)
    else:
        logger.error("%s %s: %s", result.target, result.status, secrets.scrub(result.error or ""))
    return result
