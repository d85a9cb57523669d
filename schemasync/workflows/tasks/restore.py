"""Prefect tasks of the restore flow: find and verify a backup, restore it. The logic is in `schemasync.backups.restore`.

No retries: downloads are already retried by botocore (`s3_max_attempts`), a checksum mismatch or a
missing backup is not transient, and `pg_restore` runs in one transaction that a retry must not
repeat blindly. No persisted results: the plan holds the target's connection string, which may
carry a password, so it stays in this process's memory.
"""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NONE

from schemasync import db
from schemasync.backups import restore
from schemasync.config import Settings


@task(name="verify-backup", cache_policy=NONE, persist_result=False)
def verify_backup(
    ref: str,
    settings: Settings,
    target: db.Database,
    *,
    target_db: str | None = None,
    source: str | None = None,
    no_owner: bool = False,
    from_other_database: bool = False,
) -> restore.RestorePlan:
    """Find the backup, fetch it, check its SHA-256 and table of contents, and look at the target.

    The backup is confined to the backup directory and the configured bucket: `ref` is a run parameter.
    """
    plan = restore.prepare(
        ref,
        settings,
        target,
        target_db=target_db,
        source=source,
        no_owner=no_owner,
        from_other_database=from_other_database,
        confine=True,
    )
    get_run_logger().info("Verified backup %s (%s): SHA-256 matches its manifest", plan.backup.id, plan.backup.location)
    return plan


@task(name="restore-backup", cache_policy=NONE, persist_result=False)
def restore_backup(plan: restore.RestorePlan, settings: Settings) -> restore.RestoreResult:
    """pg_restore in one transaction under the change lock; records a `restore` row in schema_versions."""
    result = restore.run(plan, settings)
    get_run_logger().info("Restored %s into %s in %.1fs", plan.backup.id, plan.target.display, result.seconds)
    return result
