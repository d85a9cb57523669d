"""Restoring a backup: find it, fetch and verify it, say what it replaces, pg_restore it, record it.

Choices an operator relies on:
- Nothing is restored from bytes that do not match the manifest's SHA-256 (a download is hashed as it
  arrives; a local copy is re-hashed), and the archive's table of contents must be readable.
- Into the same database, `pg_restore --clean --if-exists --single-transaction`: the objects in the
  backup are dropped and recreated in one transaction, so a failure changes nothing. Lock waits are
  bounded by lock_timeout (a busy application makes the restore fail cleanly instead of hanging), and
  schemasync's change lock is held so no sync runs meanwhile.
- The audit trail survives: when the database has a `schema_versions` table, the backup's copy is left
  out of the restore and a `restore` row is appended to the live one; the history is never rewound.
- Side by side with `--target-db NEW`: NEW is created from template0 and dropped again if the restore fails.
- Objects created after the backup are not in it, so they are left as they are; the summary names them.
- A backup of another database or environment replaces nothing without `from_other_database` (the CLI's
  `--from-other-database`), and then the summary says so first. The archive's own header (the database
  pg_dump read, from `pg_restore --list`) must name the database its manifest names: a manifest can be
  edited, the archive's header is what the bytes (whose SHA-256 the manifest carries) say.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import psycopg
from psycopg import sql

from schemasync import db, inventory, pgtools, secrets
from schemasync.backups.format import backup_root, digest_file
from schemasync.backups.locate import find_backups, holder
from schemasync.backups.store import Corrupt, StoredBackup, StoreError
from schemasync.bookkeeping import OWN_TABLES
from schemasync.config import Settings
from schemasync.errors import ConfigError, Refused, SchemasyncError
from schemasync.history import versions
from schemasync.units import human_size

log = logging.getLogger(__name__)

# "215; 1259 45781 TABLE DATA public items owner": the kind is the run of upper-case words before the schema.
_TOC_LINE = re.compile(r"^(?P<id>\d+); (?P<oid>\d+ \d+) (?P<desc>[A-Z]+(?: [A-Z]+)*) (?P<schema>\S+) (?P<rest>.*)$")
_HISTORY_NAMES = {versions.TABLE, f"{versions.TABLE}_id_seq"}
_DBNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$-]{0,62}")
_ARCHIVE_DBNAME = re.compile(r"^;\s+dbname: (?P<name>.*)$", re.MULTILINE)
OTHER_DATABASE_HINT = (
    "Make sure this is the backup you mean, then pass --from-other-database (the restore flow: "
    "from_other_database, allowed by SCHEMASYNC_ALLOW_RESTORE_FROM_OTHER_DATABASE=1 where the flow runs)."
)


class RestoreFailed(SchemasyncError):
    """pg_restore failed; its single transaction was rolled back."""


@dataclass(frozen=True, slots=True)
class TocEntry:
    dump_id: int
    desc: str
    schema: str
    tag: str
    line: str

    @property
    def is_history(self) -> bool:
        """Entries of our own schema_versions table (table, data, sequence, default, constraints, ACL)."""
        return self.schema == versions.SCHEMA and self.tag.split(" ")[0] in _HISTORY_NAMES


@dataclass(frozen=True, slots=True)
class Toc:
    """What `pg_restore --list` says of an archive: the database pg_dump read, and the entries."""

    dbname: str | None
    entries: tuple[TocEntry, ...]


def read_toc(tool: pgtools.Tool, dump: Path) -> Toc:
    """The archive's table of contents (`pg_restore --list`); a Corrupt when it cannot be read."""
    proc = subprocess.run(
        [tool.path, "--list", str(dump)],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        env=pgtools.child_env(),
    )
    if proc.returncode != 0:
        raise Corrupt(
            f"{dump} is not a readable pg_dump archive: {pgtools.first_error(proc.stderr)}.",
            "Use another backup (schemasync backups list).",
        )
    entries = []
    for line in proc.stdout.splitlines():
        if match := _TOC_LINE.match(line):
            entries.append(TocEntry(int(match["id"]), match["desc"], match["schema"], match["rest"], line))
    header = _ARCHIVE_DBNAME.search(proc.stdout)
    return Toc(header["name"] if header else None, tuple(entries))


def table_names(entries: tuple[TocEntry, ...]) -> list[str]:
    return sorted(f"{e.schema}.{e.tag.split(' ')[0]}" for e in entries if e.desc == "TABLE" and not e.is_history)


@dataclass(frozen=True, slots=True)
class TargetState:
    """The database a restore would replace, as it is now."""

    display: str
    server_version: str
    schema_version: str | None
    tables: tuple[str, ...]
    rows: int
    size: int
    other_sessions: tuple[str, ...]
    has_history: bool


@dataclass(frozen=True, slots=True)
class RestorePlan:
    backup: StoredBackup
    dump: Path
    target: db.Database
    create: bool
    state: TargetState | None
    backup_tables: tuple[str, ...]
    tool: pgtools.Tool
    entries: tuple[TocEntry, ...]
    no_owner: bool = False
    other_origin: str | None = None  # set when the backup is of another database or environment (and allowed)

    @property
    def keep_history(self) -> bool:
        return self.state is not None and self.state.has_history

    @property
    def untouched_tables(self) -> tuple[str, ...]:
        """Tables in the target that the backup does not have: a restore leaves them as they are."""
        if self.state is None:
            return ()
        return tuple(t for t in self.state.tables if t not in set(self.backup_tables))


@dataclass(frozen=True, slots=True)
class RestoreResult:
    plan: RestorePlan
    seconds: float
    recorded_id: int | None
    recorded_version: str | None


def _admin(target: db.Database, settings: Settings) -> psycopg.Connection:
    """A connection for CREATE/DROP DATABASE and existence checks: the target itself if it exists, else postgres."""
    last: SchemasyncError | None = None
    for name in dict.fromkeys((target.name, "postgres", "template1")):
        try:
            return db.connect(target.with_dbname(name), settings, attempts=2)
        except SchemasyncError as exc:
            last = exc
            if "does not exist" not in exc.message:
                raise
    assert last is not None
    raise last


def database_exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def _state(target: db.Database, settings: Settings) -> TargetState:
    with db.session(target, settings) as conn:
        db.set_timeouts(conn, lock_timeout=settings.lock_timeout, statement_timeout=max(settings.statement_timeout, 30))
        inv = inventory.take(conn)
        tables = tuple(
            f"{s}.{n}"
            for s, n in conn.execute(
                sql.SQL(
                    "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {} ORDER BY 1, 2"
                ).format(sql.SQL(inventory.USER_SCHEMAS))
            ).fetchall()
            if (s, n) not in OWN_TABLES
        )
        sessions = tuple(
            f"{app or 'unnamed'} (pid {pid})"
            for pid, app in conn.execute(
                "SELECT pid, application_name FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend' ORDER BY pid"
            ).fetchall()
        )
        has_history = versions.table_columns(conn) is not None
        latest = versions.latest(conn) if has_history else None
    return TargetState(
        target.display,
        inv.server_version,
        latest.schema_version if latest else None,
        tables,
        inv.rows,
        inv.size_bytes,
        sessions,
        has_history,
    )


def choose(found: list[StoredBackup], ref: str, source: str | None) -> StoredBackup:
    """One copy to restore from: the only series `ref` names, local before S3 unless `source` says otherwise."""
    if source is not None:
        found = [i for i in found if i.store == source]
    if not found:
        raise ConfigError(
            f"No backup matches {ref!r}" + (f" in {source}" if source else "") + ".",
            "List them with schemasync backups list (an id is the timestamp, for example 20260101T120000Z), or pass a path or s3:// URI.",
        )
    series = {(i.id, i.series) for i in found}
    if len(series) > 1:
        names = ", ".join(sorted(f"{d}-{e}-{i}" for i, (d, e) in series))
        raise ConfigError(f"{ref!r} names more than one backup: {names}.", "Pass one of these longer ids instead.")
    return found[0]


def prepare(
    ref: str,
    settings: Settings,
    target: db.Database,
    *,
    target_db: str | None = None,
    source: str | None = None,
    no_owner: bool = False,
    from_other_database: bool = False,
    confine: bool = False,
) -> RestorePlan:
    """Find, fetch and verify the backup, and look at the target: everything a confirmation prompt needs.

    Refusals that need only the manifest (no manifest, another database or environment) come before the
    download, so they leave nothing behind. `confine`: see `locate.find_backups`.
    """
    root = backup_root(settings)
    found = find_backups(ref, settings, local_root=root, series=(target.name, settings.env), confine=confine)
    item = choose(found, ref, source)
    if item.manifest is None:
        raise Refused(
            f"{item.location} has no manifest ({item.problem}), so its checksum cannot be verified; nothing was restored.",
            "Restore a backup listed as verified (schemasync backups list).",
        )
    if target_db is not None and not _DBNAME.fullmatch(target_db):
        raise ConfigError(
            f"{target_db!r} is not a usable database name.",
            "Use letters, digits, '_' or '-' (at most 63 characters), starting with a letter.",
        )
    destination = target.with_dbname(target_db) if target_db is not None else target
    other = other_origin(item.manifest.database, item.manifest.environment, destination.name, settings.env, target_db)
    if other is not None and not from_other_database:
        raise Refused(f"Not restored: {other}.", OTHER_DATABASE_HINT)
    try:
        dump = holder(settings, item).fetch(item, root)
    except (Corrupt, Refused) as exc:  # Refused: a local file of the same name is another backup
        raise Refused(f"{exc.message} Nothing was restored.", exc.hint) from None
    log.info("Verified %s: SHA-256 matches the manifest", dump)
    with _admin(target, settings) as admin:
        server_major = pgtools.server_major(admin.info.server_version)
        exists = database_exists(admin, destination.name)
    if target_db is not None and exists:
        raise Refused(
            f"The database {target_db!r} already exists on {target.display.rsplit('/', 1)[0]}; --target-db restores into a new one.",
            "Pick a new name, or drop that database first if you mean to replace it.",
        )
    tool = pgtools.find("pg_restore", server_major, minimum=item.manifest.pg_dump_major, settings=settings)
    try:
        toc = read_toc(tool, dump)
    except Corrupt as exc:
        raise Refused(f"{exc.message} Nothing was restored.", exc.hint) from None
    if toc.dbname != item.manifest.database:
        raise Refused(
            f"The archive {dump} is a dump of the database {toc.dbname!r}, but its manifest says "
            f"{item.manifest.database!r}: the manifest does not describe these bytes; nothing was restored.",
            "Find out who wrote this backup or its manifest; restore another backup (schemasync backups list).",
        )
    state = _state(destination, settings) if exists else None
    return RestorePlan(
        backup=item,
        dump=dump,
        target=destination,
        create=not exists,
        state=state,
        backup_tables=tuple(table_names(toc.entries)),
        tool=tool,
        entries=toc.entries,
        no_owner=no_owner,
        other_origin=other,
    )


def other_origin(backup_db: str, backup_env: str, target_db: str, target_env: str, created: str | None) -> str | None:
    """Why restoring this backup here means putting another database's data in place, else None.

    Another environment always counts (production data in staging is a decision, whatever the name);
    another database name counts when it replaces an existing database, not for a new side-by-side copy.
    """
    if backup_env != target_env:
        return f"the backup is of {backup_db!r} in the {backup_env!r} environment, and this is {target_env!r}"
    if created is None and backup_db != target_db:
        return f"the backup is of the database {backup_db!r}, and the target is {target_db!r}"
    return None


def _list_file(plan: RestorePlan, directory: str) -> str | None:
    """A `pg_restore -L` list without schema_versions entries, when the target's own history is kept."""
    if not plan.keep_history:
        return None
    path = os.path.join(directory, "restore.list")
    with open(path, "w", encoding="utf-8") as fh:
        for entry in plan.entries:
            fh.write((";" if entry.is_history else "") + entry.line + "\n")
    return path


def run(plan: RestorePlan, settings: Settings) -> RestoreResult:
    """Restore as planned (in one transaction) and record a `restore` row in the restored database."""
    _still_verified(plan)
    started = time.monotonic()
    created = False
    if plan.create:
        with _admin(plan.target, settings) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(plan.target.name)))
        created = True
        log.info("Created the database %s", plan.target.display)
    try:
        with contextlib.ExitStack() as stack:
            if not created:
                lock_conn = stack.enter_context(db.session(plan.target, settings))
                stack.enter_context(db.advisory_lock(lock_conn, plan.target, settings.advisory_lock_timeout))
            workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="schemasync-restore-"))
            listing = _list_file(plan, workdir)
            lock_ms = max(1, int(settings.lock_timeout * 1000)) if settings.lock_timeout > 0 else 0
            env, args = stack.enter_context(
                pgtools.client_env(
                    plan.target,
                    settings,
                    application_name="schemasync restore",
                    options=f"-c lock_timeout={lock_ms} -c statement_timeout=0",
                )
            )
            cmd = [plan.tool.path, "--clean", "--if-exists", "--single-transaction", "--exit-on-error", "--no-password"]
            if plan.no_owner:
                cmd.append("--no-owner")
            if listing:
                cmd.append(f"--use-list={listing}")
            log.info(
                "Restoring %s into %s with %s %s",
                plan.backup.id,
                plan.target.display,
                plan.tool.name,
                plan.tool.version,
            )
            proc = subprocess.run(
                [*cmd, *args, str(plan.dump)],
                env=env,
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        if proc.returncode != 0:
            log.debug("pg_restore output:\n%s", secrets.scrub(proc.stderr))
            raise _restore_error(proc.stderr, plan, settings)
    except BaseException:
        if created:
            with contextlib.suppress(Exception), _admin(plan.target.with_dbname("postgres"), settings) as admin:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(plan.target.name))
                )
                log.info("Dropped %s again: the restore into it failed", plan.target.display)
        raise
    seconds = time.monotonic() - started
    recorded_id, version = _record(plan, settings, seconds)
    return RestoreResult(plan, seconds, recorded_id, version)


def _still_verified(plan: RestorePlan) -> None:
    """The dump is still the one verified and shown: between the prompt (or an approval that waited for
    hours) and pg_restore, anyone who can write to the backup directory could have replaced the file."""
    manifest = plan.backup.manifest
    if manifest is None:
        return
    digest = digest_file(plan.dump)
    if (digest.sha256, digest.size) != (manifest.sha256, manifest.size):
        raise RestoreFailed(
            f"Not restored: {plan.dump} changed after it was verified and shown for confirmation (its SHA-256 is "
            f"now {digest.sha256[:16]}…, the manifest's {manifest.sha256[:16]}…); the database was not touched.",
            "Find out who writes to the backup directory, then verify the backup again and restore it.",
        )


def _restore_error(stderr: str, plan: RestorePlan, settings: Settings) -> RestoreFailed:
    text = secrets.scrub(stderr)
    first = pgtools.first_error(stderr)
    nothing = "the database was left as it was" if not plan.create else f"{plan.target.name} was dropped again"
    if re.search(r"lock timeout|canceling statement due to lock timeout", text):
        return RestoreFailed(
            f"The restore into {plan.target.display} waited more than {settings.lock_timeout:g}s for a lock held by "
            f"another session; it was rolled back and {nothing}.",
            "Stop the application (or the sessions listed before the prompt) and run the restore again, or raise SCHEMASYNC_LOCK_TIMEOUT.",
        )
    if re.search(r"depends on|other objects depend", text):
        return RestoreFailed(
            f"The restore into {plan.target.display} could not drop an object that something newer depends on ({first}); "
            f"it was rolled back and {nothing}.",
            "Drop the dependent object first, or restore side by side with --target-db NEW.",
        )
    if re.search(r"must be owner|permission denied|role .* does not exist", text):
        return RestoreFailed(
            f"The restore into {plan.target.display} was refused a privilege ({first}); it was rolled back and {nothing}.",
            "Restore as the objects' owner or a superuser, or pass --no-owner to give the objects to the restoring user.",
        )
    return RestoreFailed(
        f"pg_restore failed on {plan.target.display}: {first}; it was rolled back and {nothing}.",
        "Run with --debug for pg_restore's full output.",
    )


def _record(plan: RestorePlan, settings: Settings, seconds: float) -> tuple[int | None, str | None]:
    manifest = plan.backup.manifest
    assert manifest is not None
    taken = manifest.started_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    try:
        with db.session(plan.target, settings, autocommit=False) as conn:
            versions.ensure_table(conn, announce=False)
            version = manifest.schema_version or manifest.app_version
            if version is None:
                latest = versions.latest(conn)
                version = latest.schema_version if latest else None
            if version is None:
                conn.rollback()
                log.warning("The backup records no version, so no restore row was written to schema_versions.")
                return None, None
            row = versions.record(
                conn,
                versions.Record(
                    schema_version=version,
                    app_version=manifest.app_version,
                    status=versions.Status.RESTORED,
                    environment=settings.env,
                    description=f"Restored backup {manifest.id} (taken {taken} UTC) from {plan.backup.location}",
                    schema_hash=manifest.schema_hash,
                    backup_uri=plan.backup.location,
                    duration_ms=int(seconds * 1000),
                ),
            )
            conn.commit()
            return row, version
    except (SchemasyncError, psycopg.Error) as exc:
        message = exc.message if isinstance(exc, SchemasyncError) else secrets.scrub(str(exc))
        log.warning("The restore succeeded but its schema_versions row could not be written: %s", message)
        return None, None


def record_decision(
    plan: RestorePlan,
    settings: Settings,
    *,
    status: versions.Status,
    description: str,
    approver: str | None = None,
    notes: str | None = None,
    run_id: str | None = None,
    initiator: str | None = None,
) -> int | None:
    """A `rejected` or `refused` row in the target for a restore put up for approval and not done, so the
    audit trail says what was asked, who answered and why nothing changed (as a production run's does).

    The row names the version the restore would have brought back. A restore into a new database has
    no target to write to yet, and a failure to write is logged: neither hides the run's own outcome.
    """
    if plan.create:
        return None
    manifest = plan.backup.manifest
    version = (manifest.schema_version or manifest.app_version) if manifest else None
    version = version or (plan.state.schema_version if plan.state else None)
    if version is None:
        log.warning("Neither the backup nor the target records a version, so no %s row was written.", status.value)
        return None
    try:
        with db.session(plan.target, settings, autocommit=False) as conn:
            versions.ensure_table(conn, announce=False)
            row = versions.record(
                conn,
                versions.Record(
                    schema_version=version,
                    app_version=manifest.app_version if manifest else None,
                    status=status,
                    environment=settings.env,
                    description=description,
                    notes=secrets.scrub(notes)[:4000] if notes else None,
                    schema_hash=manifest.schema_hash if manifest else None,
                    approved_by=approver,
                    backup_uri=plan.backup.location,
                    run_id=run_id,
                    applied_by=initiator,
                ),
            )
            conn.commit()
            return row
    except (SchemasyncError, psycopg.Error) as exc:
        message = exc.message if isinstance(exc, SchemasyncError) else secrets.scrub(str(exc))
        log.warning("Could not record the %s restore in schema_versions: %s", status.value, message)
        return None


def describe(plan: RestorePlan) -> list[tuple[str, str]]:
    """(label, text) lines for the confirmation summary: what comes back, and what it replaces."""
    m = plan.backup.manifest
    assert m is not None
    taken = m.started_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = [("FROM ANOTHER DATABASE", plan.other_origin)] if plan.other_origin else []
    lines += [
        (
            "Backup",
            f"{m.id} of {m.database} ({m.environment}), taken {taken}, app {m.app_version or '?'}, "
            f"schema {m.schema_version or '?'}, {human_size(m.size)}, SHA-256 verified",
        ),
        ("From", plan.backup.location),
        ("Into", plan.target.display + (" (will be created)" if plan.create else "")),
    ]
    if plan.state is not None:
        s = plan.state
        lines.append(
            (
                "Now there",
                f"schema {s.schema_version or 'unrecorded'}, {len(s.tables)} tables, {s.rows:,} rows, {human_size(s.size)} "
                f"(PostgreSQL {s.server_version})",
            )
        )
        replaced = [t for t in plan.backup_tables if t in set(s.tables)]
        lines.append(
            (
                "Replaced",
                f"{len(plan.backup_tables)} tables come back as in the backup (dropped and recreated, with their data)"
                + (f"; {len(replaced)} of them exist now: {_few(replaced)}" if replaced else ""),
            )
        )
        if plan.untouched_tables:
            lines.append(("Left as is", f"not in the backup: {_few(list(plan.untouched_tables))}"))
        if s.has_history:
            lines.append(("History", "schema_versions is kept as it is; a 'restore' row is added"))
        if s.other_sessions:
            lines.append(("Connected", f"{len(s.other_sessions)} other session(s): {_few(list(s.other_sessions))}"))
    else:
        lines.append(("Restored", f"{len(plan.backup_tables)} tables into the new database"))
    return lines


def _few(names: list[str], limit: int = 8) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


__all__ = ["RestoreFailed", "RestorePlan", "RestoreResult", "StoreError", "describe", "prepare", "run"]
