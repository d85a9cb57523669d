"""One production change at a time per database, as a Prefect global concurrency limit.

The engine's advisory lock is what makes two applies on one database impossible; this limit makes
the second run *wait its turn in Prefect* (visible in the UI as a concurrency limit, with a timeout)
instead of failing on the lock.

Naming: `schemasync-<dbname>-<hash>`, where the hash is the first 12 hex digits of SHA-256 over
`host:port/dbname` (host lowercased, port defaulting to 5432). User and password are left out on
purpose: a password must never reach Prefect, and two users changing one database must share one
limit. The database name is kept readable (reduced to `[a-z0-9-]`, at most 40 characters) so the
limit is recognisable in `prefect gcl ls`; the hash keeps equal names on different servers apart.

Facts from Prefect 3.9.1 this relies on (see flows/README.md): with `strict=True` a missing limit is
an error rather than "no lock", so the limit is created (limit 1) when missing; a held slot is a
lease renewed by a background thread; with the server's default in-memory lease storage a server
restart forgets leases and the slot stays occupied forever, so servers must run with
`PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE=prefect.server.concurrency.lease_storage.filesystem`
(or a shared store such as prefect-redis).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from collections.abc import Iterator

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.client.schemas.objects import ConcurrencyLeaseHolder
from prefect.concurrency._asyncio import ConcurrencySlotAcquisitionError
from prefect.concurrency.sync import concurrency
from prefect.context import FlowRunContext, TaskRunContext
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

from schemasync.db import Database
from schemasync.errors import SchemasyncError

log = logging.getLogger(__name__)

PREFIX = "schemasync"


class ChangeSlotBusy(SchemasyncError):
    """Another run held the database's change slot for longer than we were willing to wait."""


def limit_name(database: Database) -> str:
    """The global concurrency limit name for `database` (no user, no password; see module docstring)."""
    parts = database.parts
    host = str(parts.get("host") or "localhost").lower()
    port = str(parts.get("port") or "5432")
    dbname = database.name
    digest = hashlib.sha256(f"{host}:{port}/{dbname}".encode()).hexdigest()[:12]
    label = re.sub(r"[^a-z0-9]+", "-", dbname.lower()).strip("-")[:40].strip("-") or "db"
    return f"{PREFIX}-{label}-{digest}"


def ensure_limit(name: str) -> None:
    """Create the limit with one slot if it does not exist; leave an existing one as its owner set it."""
    with get_client(sync_client=True) as client:
        try:
            existing = client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            existing = None
        if existing is None:
            try:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
                log.info("Created Prefect concurrency limit %s (1 slot)", name)
            except ObjectAlreadyExists:  # another run created it between our read and our create
                pass
        elif not existing.active or existing.limit != 1:
            log.warning(
                "Prefect concurrency limit %s is %s with %s slot(s); schemasync expects it active with 1. "
                "The database's advisory lock still allows only one change at a time.",
                name,
                "active" if existing.active else "inactive",
                existing.limit,
            )


@contextlib.contextmanager
def one_change_at_a_time(
    database: Database,
    *,
    timeout: float | None = None,
    lease_duration: float = 300,
) -> Iterator[str]:
    """Hold the database's change slot for the duration of the block; yields the limit's name.

    Waits up to `timeout` seconds (None: forever) for another run to release it. A lease renewal
    failure (the Prefect API away for a while) is logged, not fatal: cancelling a run in the middle
    of an apply would be worse than briefly losing the Prefect-side queueing, and the advisory lock
    still guards the apply itself.
    """
    name = limit_name(database)
    ensure_limit(name)
    holder = None
    if (task_ctx := TaskRunContext.get()) is not None:
        holder = ConcurrencyLeaseHolder(type="task_run", id=task_ctx.task_run.id)
    elif (flow_ctx := FlowRunContext.get()) is not None and flow_ctx.flow_run is not None:
        holder = ConcurrencyLeaseHolder(type="flow_run", id=flow_ctx.flow_run.id)

    slot = contextlib.ExitStack()
    try:
        slot.enter_context(
            concurrency(
                name,
                occupy=1,
                timeout_seconds=timeout,
                lease_duration=lease_duration,
                strict=True,
                holder=holder,
                raise_on_lease_renewal_failure=False,
            )
        )
    except TimeoutError:
        raise ChangeSlotBusy(
            f"Another schemasync run holds the change slot for {database.display} (Prefect concurrency limit "
            f"{name}) and did not release it within {timeout:.0f}s; nothing was changed.",
            f"Wait for that run to finish and start again. If no run is active, a crashed run's slot is freed when its "
            f"lease expires (about {lease_duration:.0f}s); a slot orphaned by a server restart can be freed with "
            f"`prefect gcl update {name} --active-slots 0`.",
        ) from None
    except ConcurrencySlotAcquisitionError as exc:
        raise SchemasyncError(
            f"Could not take the change slot for {database.display} (Prefect concurrency limit {name}): {exc}; nothing was changed.",
            f"Check the limit with `prefect gcl inspect {name}` and that the Prefect server is healthy.",
        ) from None
    with slot:
        yield name
