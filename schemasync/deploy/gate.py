"""What an approval covers, and who may give it: the rules of the approval gate, without Prefect.

An approver says yes to a page (the plan). Everything that decides what happens after that yes is
pinned into the page when the plan is made, as a `Pin`: which server and database (host, port, name
and the server's own system identifier, so a restored or re-pointed host is not mistaken for the
original), the environment, the app version and models, the build and verification commands, the
prune / destructive permissions, the backup and the plan's own hashes. The pin's SHA-256 is shown to
the approver. After the approval the run pins again from the settings as they are then, and anything
that moved (an edited `.env`, a `SCHEMASYNC_BUILD_COMMAND` set during the wait) refuses the run:
what runs is what was approved, or nothing.

Who may approve: `approvers` (an allow-list of names; empty means anyone who can answer) and
`separate_approver` (the approver is not the person who started the run; when who started it is unknown,
every approval is refused, since the rule cannot be checked). Names are compared
without regard to case or surrounding blanks. A rejection changes nothing and is accepted from
anyone who can answer (they could cancel the run anyway); the rules apply to approvals.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

import psycopg

from schemasync import db, secrets
from schemasync.errors import Refused

UNKNOWN = "unknown"


class ApprovedPlanChanged(Refused):
    """Something the approver approved differs from what would run now."""


class ApproverNotAllowed(Refused):
    """The answer came from someone the settings do not let approve this run."""


@dataclass(frozen=True, slots=True)
class Pin:
    """Everything an approval covers. Plain text and flags only: shown to the approver, hashed, compared.

    `system_identifier` is PostgreSQL's cluster id (`pg_control_system()`), `unknown` when the role may
    not read it; the backup fields are empty for a plan that needs no backup.
    """

    database: str  # Database.display: no password
    host: str
    port: str
    dbname: str
    system_identifier: str
    environment: str
    app_version: str
    models: str
    project_dir: str
    build_command: str
    verify_command: str
    health_check_url: str
    prune: bool
    concurrent_indexes: bool
    online: bool
    allow_destructive: bool
    initiator: str
    approvers: tuple[str, ...]
    separate_approver: bool
    schema_hash: str
    plan_digest: str
    backup_id: str = ""
    backup_sha256: str = ""
    backup_location: str = ""

    @property
    def digest(self) -> str:
        """SHA-256 of every field: the identity of what is approved."""
        text = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def rows(self) -> list[tuple[str, str]]:
        """The pin as label/value pairs for the approver's page (scrubbed: commands may carry secrets)."""
        backup = f"{self.backup_id} (SHA-256 {self.backup_sha256[:16]}…) at {self.backup_location}"
        values = [
            ("server", f"{self.host}:{self.port}, system identifier {self.system_identifier}"),
            ("database", self.dbname),
            ("environment", self.environment),
            ("build command", self.build_command or "none"),
            ("verify command", self.verify_command or "none"),
            ("health check", self.health_check_url or "none"),
            ("prune", "yes" if self.prune else "no"),
            ("online plan", "yes: long steps run after the transaction" if self.online else "no"),
            ("destructive changes allowed without review", "yes" if self.allow_destructive else "no"),
            ("started by", self.initiator),
            ("approvers", ", ".join(self.approvers) or "anyone who can answer"),
            ("separate approver", "required" if self.separate_approver else "not required"),
            ("backup", backup if self.backup_id else "none"),
            ("approval covers (SHA-256)", self.digest),
        ]
        return [(label, secrets.scrub(value)) for label, value in values]


def server_identity(conn: psycopg.Connection) -> str:
    """The cluster's system identifier, or `unknown` when this role may not read `pg_control_system()`."""
    row = conn.execute(
        "SELECT CASE WHEN has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE') "
        "THEN (SELECT system_identifier::text FROM pg_catalog.pg_control_system()) END"
    ).fetchone()
    return str(row[0]) if row and row[0] is not None else UNKNOWN


def database_parts(database: db.Database) -> tuple[str, str, str]:
    """host, port and database name as libpq would use them (defaults filled in)."""
    parts = database.parts
    if database.embedded:
        return "embedded", parts.get("port", "5432"), database.name
    return parts.get("host", "localhost"), parts.get("port", "5432"), database.name


def differences(approved: Pin, now: Pin) -> list[str]:
    """What moved between the approval and now, one scrubbed phrase per field."""
    found = []
    for field in fields(Pin):
        before, after = getattr(approved, field.name), getattr(now, field.name)
        if before != after:
            label = field.name.replace("_", " ")
            found.append(secrets.scrub(f"{label} was {_show(before)}, is now {_show(after)}"))
    return found


def _show(value: object) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(value) + "]"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return repr(value) if value != "" else "empty"


def refuse_if_moved(approved: Pin, now: Pin) -> None:
    """Raise ApprovedPlanChanged naming every difference, unless `now` is exactly what was approved."""
    moved = differences(approved, now)
    if moved:
        raise ApprovedPlanChanged(
            f"What was approved is not what would run now ({'; '.join(moved)}), so nothing was applied: the "
            f"approval covered {approved.digest[:16]} and the run now pins {now.digest[:16]}.",
            "Settings, commands or the target changed while the run waited for approval. Start a new production "
            "run so the approver sees what would really run.",
        )


def same_person(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def check_approver(approver: str, *, initiator: str, approvers: Sequence[str], separate: bool) -> None:
    """Refuse an approval the settings do not allow (a rejection is never refused: it changes nothing)."""
    if approvers and not any(same_person(approver, allowed) for allowed in approvers):
        raise ApproverNotAllowed(
            secrets.scrub(
                f"{approver!r} is not one of the approvers this run accepts ({', '.join(approvers)}), so the "
                "approval was refused and nothing was applied."
            ),
            "Ask one of the listed approvers to approve a new run, or change the `approvers` setting "
            "(SCHEMASYNC_APPROVERS) where the run executes.",
        )
    if separate and initiator == UNKNOWN:
        # fail closed: a two-person rule that cannot tell who the first person was is not one
        raise ApproverNotAllowed(
            "separate-approver is set, but who started this run is unknown (the Prefect server recorded no "
            "creator: a self-hosted server knows no users), so the approver cannot be shown to be someone "
            "else; the approval was refused and nothing was applied.",
            "Start the run with schemasync production from a terminal (its user is recorded), or on Prefect "
            "Cloud (which records the creator), or unset separate-approver where the run executes and rely on "
            "`approvers` and on who holds the Prefect API credential.",
        )
    if separate and same_person(approver, initiator):
        raise ApproverNotAllowed(
            secrets.scrub(
                f"{approver!r} started this run and cannot also approve it (separate-approver is set), so the "
                "approval was refused and nothing was applied."
            ),
            "Another approver must answer a new run; separate-approver requires two people.",
        )
