"""Values passed between the production deployment's steps: plain, frozen, free of secrets.

Prefect hashes task inputs for its cache keys and pickles persisted results in clear text, so
nothing here holds a connection, a URL or a password: a `Target` names where the URL comes from
(settings, or an environment variable's name), and everything else is text and numbers already
scrubbed for display.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from schemasync.plan.hazards import HazardKind

if TYPE_CHECKING:
    from schemasync.migrations.project import State


@dataclass(frozen=True, slots=True)
class Target:
    """Which app and database a deployment is for, as names and settings values only.

    The database is what the settings resolve to for `environment` (PROD_DATABASE_URL / PROD_DB_* for
    production, else DATABASE_URL, else the embedded server), unless `database_url_env` names the
    environment variable that holds the URL. `models` and `app_version` override the project's settings.
    """

    project_dir: str
    environment: str = "production"
    database_url_env: str | None = None
    models: str | None = None
    app_version: str | None = None
    prune: bool = False
    concurrent_indexes: bool = False
    online: bool = True  # production runs online plans unless told not to (README: online plans)


@dataclass(frozen=True, slots=True)
class Context:
    """What the versions check found, and the settings the flow needs to steer by."""

    database: str  # Database.display: no password
    environment: str
    app_version: str
    database_version: str | None
    relation: str  # versions.Relation value
    backup_dir: str  # absolute
    s3: str | None  # s3://bucket/prefix/ when a bucket is configured
    approval_timeout: float
    approval_poll_interval: float
    approvers: tuple[str, ...] = ()
    separate_approver: bool = False

    @property
    def in_step(self) -> bool:
        return self.database_version == self.app_version


@dataclass(frozen=True, slots=True)
class HazardNote:
    kind: str  # the `HazardKind`'s name, as the approver reads it (DELETES_DATA)
    fact: str
    statement: int  # 1-based number of the statement it belongs to
    blocking: bool = False

    @property
    def hazard(self) -> HazardKind:
        return HazardKind[self.kind]


@dataclass(frozen=True, slots=True)
class AffectedTable:
    name: str
    rows: int
    exact: bool  # False: the planner's estimate (the table is too large to count)


@dataclass(frozen=True, slots=True)
class PlannedChange:
    """The plan as the approver sees it, and what identifies it at apply time."""

    database: str
    source_hash: str  # hash of the (scoped) schema the plan was made from
    sql: str  # with hazards as comments
    sql_digest: str  # SHA-256 of the statements without comments: the plan's identity
    summary: tuple[str, ...] = ()
    statements: int = 0
    changes: int = 0
    description: str = ""
    hazards: tuple[HazardNote, ...] = ()
    affected: tuple[AffectedTable, ...] = ()
    notes: tuple[str, ...] = ()
    migrations: State | None = None  # versioned mode: the Alembic state the plan was made from
    # What the models declare that the plan does not cover: never shown as "in sync" (`report.plan_markdown`)
    model_errors: tuple[str, ...] = ()  # PostgreSQL cannot create them as declared; the database's copy kept
    unmanaged_declared: tuple[str, ...] = ()  # schemasync neither creates nor compares them

    @property
    def complete(self) -> bool:
        """Everything the models declare was compared (no model error, nothing unmanaged-declared)."""
        return not self.model_errors and not self.unmanaged_declared

    @property
    def versioned(self) -> bool:
        return self.migrations is not None

    @property
    def empty(self) -> bool:
        return self.statements == 0

    @property
    def deleting(self) -> tuple[str, ...]:
        """The facts of the DELETES_DATA hazards."""
        return tuple(h.fact for h in self.hazards if h.hazard is HazardKind.DELETES_DATA)

    @property
    def destructive(self) -> bool:
        return bool(self.deleting)

    @property
    def blocking(self) -> tuple[HazardNote, ...]:
        return tuple(h for h in self.hazards if h.blocking)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(sorted({h.kind for h in self.hazards}))

    @property
    def headline(self) -> str:
        if self.migrations is not None:
            n = self.statements
            return f"{n} Alembic revision{'s' if n != 1 else ''} to apply (head {self.migrations.head or '?'})"
        n = self.changes
        text = f"{n} change{'s' if n != 1 else ''} in {self.statements} statement{'s' if self.statements != 1 else ''}"
        if self.hazards:
            text += f"; hazards: {', '.join(self.kinds)}"
        return text


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class BackupInfo:
    """A verified backup: the local dump, and its S3 copy once uploaded and verified."""

    id: str
    path: str
    size: int
    sha256: str
    environment: str
    restore_command: str
    remote: str | None = None  # s3://... once uploaded and verified

    @property
    def location(self) -> str:
        return self.remote or self.path


@dataclass(frozen=True, slots=True)
class Decision:
    """The approver's answer (or the pre-approval of `schemasync production --approve`)."""

    approve: bool
    approver: str
    comment: str = ""
    pre_approved: bool = False
    initiator: str = ""  # who started the run (gate.UNKNOWN when Prefect does not say)
    source: str = "schemasync production --approve"  # where a pre-approval came from

    @property
    def notes(self) -> str:
        """The text recorded in schema_versions.notes."""
        if self.pre_approved:
            said = f": {self.comment}" if self.comment else ""
            return f"pre-approved by {self.approver} ({self.source}){said}"
        return self.comment

    @property
    def applied_by(self) -> str | None:
        """schema_versions.applied_by: who started the run, when known (else the engine's user@host)."""
        return self.initiator if self.initiator and self.initiator != "unknown" else None


@dataclass(frozen=True, slots=True)
class AppliedChange:
    statements: int
    changes: int
    duration_ms: int
    version_id: int | None
    schema_hash: str
    attempts: int = 1
    outside: tuple[str, ...] = ()  # first lines of the statements that ran outside the transaction (online steps)


class Outcome(StrEnum):
    IN_SYNC = "in sync"  # nothing to change, nothing to record
    RECORDED = "recorded"  # nothing to change; the app's version was recorded
    APPLIED = "applied"
    REJECTED = "rejected"
    REFUSED = "refused"  # a safety rule stopped it before anything was applied (stale plan...)
    STOPPED = "stopped"  # an error before anything was applied (approval timeout, backup failed...)
    FAILED = "failed"  # a step after the apply failed: the schema WAS changed


@dataclass(frozen=True, slots=True)
class StepNote:
    """One line of the summary's step list."""

    step: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Report:
    """Everything the deployment summary says; filled in as the run goes."""

    run_id: str
    started_at: str  # ISO 8601, UTC
    context: Context | None = None
    planned: PlannedChange | None = None
    backup: BackupInfo | None = None
    decision: Decision | None = None
    applied: AppliedChange | None = None
    steps: tuple[StepNote, ...] = ()
    outcome: Outcome | None = None
    message: str = ""
    version_id: int | None = None
    seconds: float | None = None
    project_dir: str = ""

    def step(self, step: str, ok: bool, detail: str) -> Report:
        return replace(self, steps=(*self.steps, StepNote(step, ok, detail)))


@dataclass(frozen=True, slots=True)
class Result:
    """What a finished (Completed) production run returns."""

    outcome: Outcome
    message: str
    database: str
    environment: str
    app_version: str | None
    database_version: str | None
    run_id: str
    backup: str | None = None
    restore_command: str | None = None
    version_id: int | None = None
    summary_path: str | None = None
