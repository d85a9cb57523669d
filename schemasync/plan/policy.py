"""The safety rules a change must pass before anything is applied, each refusal with a stable code.

Every front end asks these functions and no other place decides: `sync`/`push` (through
`schemasync.ops.sync`), the production workflow's steps (`deploy/steps.py`), versioned `sync` and
`setup`. What differs between them is only who can say yes (a person at the prompt, a flag, an
approver, the operator's environment), so each rule takes that as an argument, and the wording of the
hint (what to do) follows the front end (`Via`).

Codes are like Atlas's analyzer codes: `SS1xx` for the sync policy. A code never changes meaning and is
never reused, because scripts match on it (it starts the message: `[SS104] The plan deletes data ...`,
and `diff --json` lists the rules a plan trips under `policy`). The table is in CONTRIBUTING.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from schemasync.appversion import parse_version
from schemasync.errors import Refused
from schemasync.plan.hazards import Hazard, HazardKind


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    name: str
    summary: str  # when it refuses, in one line (the docs' table and `diff --json`)


DOWNGRADE = Rule("SS101", "downgrade", "the database is at a newer version than the app")
MODEL_ERRORS = Rule(
    "SS102", "model-errors", "the models declare objects PostgreSQL cannot create, and nobody confirmed the rest"
)
FAILS_ON_DATA = Rule("SS103", "fails-on-data", "a statement is certain to fail on the rows as they are")
DELETES_UNREVIEWED = Rule("SS104", "deletes-unreviewed", "the plan deletes data and nobody reviewed it")
UNCONFIRMED = Rule("SS105", "unconfirmed", "there is no terminal to ask and no --yes")
TOO_MANY_LOCKS = Rule("SS106", "too-many-locks", "one transaction would need more locks than the server holds")
NO_OFFSITE_BACKUP = Rule("SS107", "no-offsite-backup", "production without an S3 bucket or an accepted local backup")
STALE_PLAN = Rule("SS108", "stale-plan", "the schema changed between planning (or approval) and applying")
HAZARD_NOT_ALLOWED = Rule("SS109", "hazard-not-allowed", "the executor was handed a hazard its caller did not allow")

RULES = (
    DOWNGRADE,
    MODEL_ERRORS,
    FAILS_ON_DATA,
    DELETES_UNREVIEWED,
    UNCONFIRMED,
    TOO_MANY_LOCKS,
    NO_OFFSITE_BACKUP,
    STALE_PLAN,
    HAZARD_NOT_ALLOWED,
)


class Via(StrEnum):
    """Who is changing the database, which decides who can say yes and what the hint tells them to do."""

    SYNC = "sync"  # `sync` / `push` at a terminal or in a script
    DEPLOY = "deploy"  # the production workflow: an approver, or a pre-approved run


class PolicyRefused(Refused):
    """A safety rule refused the change before anything was applied; `code` names the rule."""

    def __init__(self, rule: Rule, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint, code=rule.code)
        self.rule = rule


class NoOffsiteBackup(Refused):
    """No S3 bucket is configured and a local-only backup was not allowed."""

    code = NO_OFFSITE_BACKUP.code


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule the plan trips, and whether anything can let it through (`fails-on-data`: nothing can)."""

    rule: Rule
    facts: tuple[str, ...]
    permissible: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.rule.code,
            "rule": self.rule.name,
            "summary": self.rule.summary,
            "facts": list(self.facts),
            "permissible": self.permissible,
        }


def findings(*, blocking: Sequence[str], deleting: Sequence[str], model_errors: Sequence[str]) -> tuple[Finding, ...]:
    """The rules a plan trips, from its facts: what `diff --json` shows and what the checks below refuse."""
    found: list[Finding] = []
    if model_errors:
        found.append(Finding(MODEL_ERRORS, tuple(model_errors), True))
    if blocking:
        found.append(Finding(FAILS_ON_DATA, tuple(blocking), False))
    if deleting:
        found.append(Finding(DELETES_UNREVIEWED, tuple(deleting), True))
    return tuple(found)


# -- versions --------------------------------------------------------------------------------------


def refuse_downgrade(app_version: str, db_version: str | None, *, allow: bool, action: str) -> None:
    """Stop a writing command when the database is ahead of the app, unless explicitly allowed."""
    if db_version is None:
        return
    app, db = parse_version(app_version, "the app version"), parse_version(db_version, "schema_versions")
    if db > app and not allow:
        raise PolicyRefused(
            DOWNGRADE,
            f"The database is at version {db_version}, ahead of the app's {app_version}: {action} would downgrade "
            "it. Nothing was changed.",
            "Deploy the newer app version, or pass --allow-downgrade if you really mean to take the schema back.",
        )


# -- the plan --------------------------------------------------------------------------------------


def model_errors_need_asking(model_errors: Sequence[str], *, allowed: bool, can_ask: bool, via: Via) -> bool:
    """Applying the rest of the models while some cannot be created needs someone to have seen it.

    True: ask the person at the terminal. Refused when nobody can be asked and nobody allowed it
    (`--allow-model-errors`, or the operator's `SCHEMASYNC_ALLOW_MODEL_ERRORS=1` in production), so a
    script never applies half the models by accident.
    """
    if not model_errors or allowed:
        return False
    if can_ask:
        return True
    count = len(model_errors)
    objects = f"{count} declared object{'s' if count != 1 else ''}"
    if via is Via.DEPLOY:
        raise PolicyRefused(
            MODEL_ERRORS,
            f"The models have {objects} PostgreSQL cannot create as declared: "
            + "; ".join(model_errors)
            + ". Nothing was changed and no backup was taken.",
            "Fix those objects in the models; or, to deploy the rest without them (the database's copies are kept "
            "as they are), set SCHEMASYNC_ALLOW_MODEL_ERRORS=1 in the environment of the worker running the flow.",
        )
    raise PolicyRefused(
        MODEL_ERRORS,
        f"The models have {objects} PostgreSQL cannot create as declared (listed above), and no one confirmed "
        "applying the rest without them. Nothing was changed.",
        "Fix those objects in the models, or run again on a terminal or with --allow-model-errors to apply "
        "the rest (the database's copies of those objects are kept as they are).",
    )


def check_plan(*, blocking: Sequence[str], deleting: Sequence[str], reviewed: bool, via: Via) -> None:
    """Refuse a plan that would fail on the data (always), or that deletes data nobody reviewed.

    `reviewed`: someone saw the plan and can still say no (a person at the prompt, an approver in
    production), or said yes to deleting data up front (`--allow-destructive`).
    """
    if blocking:
        raise PolicyRefused(
            FAILS_ON_DATA,
            "The plan would fail on the data as it is: "
            + "; ".join(blocking)
            + (". Nothing was changed and no backup was taken." if via is Via.DEPLOY else ". Nothing was changed."),
            "Fix the data first (the counts say where), or change the models; schemasync never empties a table "
            "to make a change pass.",
        )
    if deleting and not reviewed:
        if via is Via.DEPLOY:
            raise PolicyRefused(
                DELETES_UNREVIEWED,
                "The plan deletes data ("
                + "; ".join(deleting)
                + ") and this run is pre-approved, so nobody reviewed that. Nothing was changed.",
                "Run it without --approve so an approver sees the plan, or pass --allow-destructive "
                "(parameter allow_destructive) if deleting the data is intended.",
            )
        raise PolicyRefused(
            DELETES_UNREVIEWED,
            "The plan deletes data (" + "; ".join(deleting) + ") and no one confirmed it. Nothing was changed.",
            "Review the plan above and run again with --allow-destructive (or interactively).",
        )


def refuse_unconfirmed(
    *, yes: bool, terminal: bool, destructive: bool = False, what: str = "nothing was changed"
) -> None:
    """A change at the CLI needs a yes: `--yes`, or a terminal to ask on."""
    if yes or terminal:
        return
    raise PolicyRefused(
        UNCONFIRMED,
        f"There is no terminal to ask for confirmation, so {what}.",
        "Run it in a terminal, or pass --yes to apply without asking"
        + (" (and --allow-destructive for a plan that deletes data)." if destructive else "."),
    )


def allowed_hazards(*, deletes_reviewed: bool) -> frozenset[HazardKind]:
    """The hazard kinds the executor may run: all of them once a person reviewed the deletions."""
    every = frozenset(HazardKind)
    return every if deletes_reviewed else every - {HazardKind.DELETES_DATA}


def refuse_hazards(hazards: Sequence[Hazard], allow: Iterable[HazardKind]) -> None:
    """The executor's own guard: refuse a plan with a hazard kind its caller did not allow."""
    allowed = frozenset(allow)
    missing = sorted({h.kind for h in hazards} - allowed)
    if not missing:
        return
    named = [h.fact for h in hazards if h.kind in missing]
    raise PolicyRefused(
        HAZARD_NOT_ALLOWED,
        f"The plan has hazards that were not allowed ({', '.join(k.name for k in missing)}): "
        + "; ".join(named[:3])
        + ("; ..." if len(named) > 3 else "")
        + ". Nothing was changed.",
        "Review the plan and allow these hazards explicitly if they are intended.",
    )


# -- backups ---------------------------------------------------------------------------------------


def backup_required(setting: str, *, deletes_data: bool, no_backup: bool) -> bool:
    """Whether `sync` backs up first: `backup_before_sync` (always | destructive | never), unless --no-backup.

    Versioned mode passes `deletes_data=True`: migrations are opaque, any of them may delete data.
    """
    if no_backup:
        return False
    return setting == "always" or (setting == "destructive" and deletes_data)


def refuse_local_only_backup(database: str, *, bucket: bool, allow_local_only: bool) -> None:
    """Production keeps its backup off this machine: without a bucket, only an explicit yes lets it go on."""
    if bucket or allow_local_only:
        return
    raise NoOffsiteBackup(
        f"No S3 bucket is configured, so the backup of {database} would exist only on this machine; "
        "the production workflow stops before changing anything.",
        "Set SCHEMASYNC_S3_BUCKET (and SCHEMASYNC_S3_ENDPOINT_URL for a non-AWS endpoint), or accept a "
        "local-only backup explicitly with --allow-local-backup (flow parameter allow_local_backup).",
    )


__all__ = [
    "DELETES_UNREVIEWED",
    "DOWNGRADE",
    "FAILS_ON_DATA",
    "HAZARD_NOT_ALLOWED",
    "MODEL_ERRORS",
    "NO_OFFSITE_BACKUP",
    "RULES",
    "STALE_PLAN",
    "TOO_MANY_LOCKS",
    "UNCONFIRMED",
    "Finding",
    "NoOffsiteBackup",
    "PolicyRefused",
    "Rule",
    "Via",
    "allowed_hazards",
    "backup_required",
    "check_plan",
    "findings",
    "model_errors_need_asking",
    "refuse_downgrade",
    "refuse_hazards",
    "refuse_local_only_backup",
    "refuse_unconfirmed",
]
