"""Backup commands: `backup`, `backups list|verify|prune`, `restore`.

An id is what `backups list` shows in its first column: the backup's UTC timestamp (20260101T120000Z),
which is unique per database and environment; `<db>-<env>-<timestamp>`, a file path, an s3:// URI and
`latest` work too.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from schemasync.cli.app import app, err, out, uses_settings
from schemasync.config import Loaded, Settings, parse_duration
from schemasync.errors import ConfigError, ExitCode, Refused
from schemasync.units import human_size

backups_app = typer.Typer(
    name="backups", help="List, verify and prune backups (local and S3).", no_args_is_help=True, add_completion=False
)
app.add_typer(backups_app, rich_help_panel="Backups")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for machines instead of text.")]
BackupDirOpt = Annotated[
    str | None,
    typer.Option(
        "--backup-dir", help="Backup directory (else SCHEMASYNC_BACKUP_DIR, default ./backups).", show_default=False
    ),
]


def _settings(loaded: Loaded, backup_dir: str | None) -> Settings:
    if backup_dir is None:
        return loaded.settings
    return loaded.settings.model_copy(update={"backup_dir": Path(backup_dir)})


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


@app.command(rich_help_panel="Backups")
@uses_settings
def backup(
    loaded: Loaded,
    no_upload: Annotated[
        bool, typer.Option("--no-upload", help="Keep this backup on this machine even when a bucket is configured.")
    ] = False,
    backup_dir: BackupDirOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Back up the database with pg_dump (custom format), verify it, and upload it when S3 is configured."""
    from schemasync import db  # lazy: start-up (psycopg)
    from schemasync.backups.take import take_backup  # lazy: start-up (psycopg)

    settings = _settings(loaded, backup_dir)
    target = db.resolve(settings, dict(loaded.sources))
    taken = take_backup(settings, target, upload=not no_upload)
    m = taken.manifest
    if json_output:
        out.print_json(
            json.dumps(
                {
                    "id": m.id,
                    "database": target.display,
                    "environment": m.environment,
                    "local": str(taken.path),
                    "s3": taken.remote.location if taken.remote else None,
                    "size": m.size,
                    "sha256": m.sha256,
                    "app_version": m.app_version,
                    "schema_version": m.schema_version,
                    "restore_command": taken.restore_command,
                }
            )
        )
    else:
        out.print(
            f"[green]Backup[/] {m.id} of {escape(target.display)} ({m.environment}; app {escape(m.app_version or '?')}, "
            f"schema {escape(m.schema_version or 'unrecorded')})"
        )
        out.print(
            f"  local  {escape(str(taken.path))}  ({human_size(m.size)}, sha256 {m.sha256[:16]}…)", soft_wrap=True
        )
        if taken.remote is not None:
            out.print(f"  S3     {escape(taken.remote.location)}  (uploaded and verified)", soft_wrap=True)
        out.print(f"Restore with: [bold]{escape(taken.restore_command)}[/]", soft_wrap=True)
    if taken.remote is None and not no_upload:
        level = "warning: " if settings.is_production else ""
        err.print(
            f"{level}No S3 bucket is configured (SCHEMASYNC_S3_BUCKET): this backup exists only on this machine.",
            style="yellow" if level else "dim",
            soft_wrap=True,
        )


@backups_app.command("list")
@uses_settings
def list_backups(
    loaded: Loaded,
    local: Annotated[bool, typer.Option("--local", help="Only the local backup directory, not S3.")] = False,
    backup_dir: BackupDirOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Backups in the backup directory and in S3, newest first, with size, versions and whether they are verified."""
    from schemasync.backups import locate  # lazy: start-up (psycopg)

    settings = _settings(loaded, backup_dir)
    found = locate.listing(settings, local_only=local)
    items, errors = found.items, [u.message for u in found.unreadable]
    if json_output:
        out.print_json(json.dumps({"backups": [i.to_json() for i in items], "errors": errors}))
    elif not items:
        out.print("No backups yet: take one with [bold]schemasync backup[/].")
    else:
        table = Table(title="Backups, newest first", title_justify="left")
        for column in ("id", "where", "database", "env", "taken (UTC)", "size", "app", "schema", "state"):
            table.add_column(
                column,
                overflow="fold",
                justify="right" if column == "size" else "left",
                no_wrap=column in ("id", "where", "taken (UTC)", "size"),
            )
        for i in items:
            table.add_row(
                i.id,
                i.store,
                escape(i.database),
                escape(i.environment),
                _when(i.taken_at),
                human_size(i.size),
                escape(i.app_version or ""),
                escape(i.schema_version or ""),
                "[green]verified[/]" if i.verified else f"[red]{escape(i.problem or 'not verified')}[/]",
            )
        out.print(table)
        out.print(f"[dim]Stores: {', '.join(escape(s.describe()) for s in found.stores)}[/]")
    for error in errors:
        err.print(f"warning: {escape(error)}", style="yellow", soft_wrap=True)
    if errors:
        raise SystemExit(int(ExitCode.ERROR))


@backups_app.command("verify")
@uses_settings
def verify_backup(
    loaded: Loaded,
    ref: Annotated[str, typer.Argument(metavar="ID|PATH|s3://...", help="The backup: id, latest, path or S3 URI.")],
    backup_dir: BackupDirOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Re-hash every copy of a backup (local file, S3 object) and compare with its manifest."""
    from schemasync.backups import locate  # lazy: start-up (psycopg)
    from schemasync.backups.format import backup_root  # lazy: start-up (the backups package loads for its commands)

    settings = _settings(loaded, backup_dir)
    series = locate.series(settings, dict(loaded.sources))
    found = locate.find_backups(ref, settings, local_root=backup_root(settings), series=series)
    if not found:
        raise ConfigError(f"No backup matches {ref!r}.", "List them with schemasync backups list.")
    results = [locate.verify(settings, item) for item in found]
    if json_output:
        out.print_json(json.dumps([{"location": r.backup.location, "ok": r.ok, "detail": r.detail} for r in results]))
    else:
        for r in results:
            mark = "[green]ok[/]" if r.ok else "[red]FAILED[/]"
            out.print(f"{mark}  {escape(r.backup.location)}: {escape(r.detail)}", soft_wrap=True)
    if not all(r.ok for r in results):
        raise SystemExit(int(ExitCode.ERROR))


@backups_app.command("prune")
@uses_settings
def prune_backups(
    loaded: Loaded,
    *,
    keep: Annotated[
        int | None, typer.Option("--keep", min=1, help="Keep this many newest verified backups (else backup_keep).")
    ] = None,
    max_age: Annotated[
        str | None,
        typer.Option(
            "--max-age",
            help="Delete verified backups older than this (30d, 12h; 'none' for no limit).",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be deleted; delete nothing.")] = False,
    all_series: Annotated[
        bool, typer.Option("--all", help="Every database and environment in the stores, not only the configured one.")
    ] = False,
    local: Annotated[bool, typer.Option("--local", help="Only the local backup directory, not S3.")] = False,
    backup_dir: BackupDirOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Delete old backups (local and S3); the newest verified backup is always kept."""
    from schemasync.backups import locate, prune  # lazy: start-up (psycopg)

    settings = _settings(loaded, backup_dir)
    keep_n = keep if keep is not None else settings.backup_keep
    age: float | None
    if max_age is None:
        age = settings.backup_max_age
    elif max_age.strip().lower() in ("none", "0", "off"):
        age = None
    else:
        try:
            age = parse_duration(max_age)
        except ValueError as exc:
            raise ConfigError(f"--max-age {max_age!r}: {exc}.", "For example --max-age 30d.") from None
    series = None if all_series else locate.series(settings, dict(loaded.sources))
    planned = prune.plan(settings, keep=keep_n, max_age=age, series=series, local_only=local)
    decisions = planned.decisions
    done = prune.run(planned) if not dry_run else None
    aborted = list(done.aborted) if done else []
    removed = list(done.removed) if done else []
    errors = [u.message for u in planned.listing.unreadable]
    failed = list(done.failed) if done else []
    if json_output:
        out.print_json(
            json.dumps(
                {
                    "dry_run": dry_run,
                    "decisions": [
                        {"location": d.backup.location, "delete": d.delete, "reason": d.reason, "id": d.backup.id}
                        for d in decisions
                    ],
                    "aborted_uploads": aborted,
                    "removed_temporary_files": [str(p) for p in removed],
                    "errors": [*errors, *failed],
                }
            )
        )
    else:
        verb = "would delete" if dry_run else "deleted"
        for d in decisions:
            label = f"[red]{verb}[/]" if d.delete else "[green]kept[/]"
            out.print(
                f"{label}  {escape(d.backup.location)}  ({human_size(d.backup.size)}): {escape(d.reason)}",
                soft_wrap=True,
            )
        if not decisions:
            out.print("No backups to prune.")
        count = sum(d.delete for d in decisions)
        out.print(f"{count} backup(s) {verb}; {sum(not d.delete for d in decisions)} kept.")
        for key in aborted:
            out.print(f"aborted an abandoned multipart upload of {escape(key)}")
        for path in removed:
            out.print(f"removed the leftover temporary file {escape(str(path))}")
    for problem in [*errors, *failed]:
        err.print(f"warning: {escape(problem)}", style="yellow", soft_wrap=True)
    if errors or failed:
        raise SystemExit(int(ExitCode.ERROR))


@app.command(rich_help_panel="Backups")
@uses_settings
def restore(
    loaded: Loaded,
    *,
    ref: Annotated[str, typer.Argument(metavar="ID|PATH|s3://...", help="The backup: id, latest, path or S3 URI.")],
    target_db: Annotated[
        str | None,
        typer.Option(
            "--target-db", help="Restore side by side into this new database on the same server.", show_default=False
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--from", help="Take the copy from 'local' or 's3' (default: local when there is one).", show_default=False
        ),
    ] = None,
    no_owner: Annotated[
        bool, typer.Option("--no-owner", help="Do not restore object ownership (objects belong to the restoring user).")
    ] = False,
    from_other_database: Annotated[
        bool,
        typer.Option(
            "--from-other-database",
            help="Allow a backup of another database or environment (refused without this flag).",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    backup_dir: BackupDirOpt = None,
) -> None:
    """Restore a backup into the database (replacing what the backup holds) or side by side with --target-db."""
    from schemasync import db  # lazy: start-up (psycopg)
    from schemasync.backups import restore as restoring  # lazy: start-up (psycopg)

    if source not in (None, "local", "s3"):
        raise ConfigError(f"--from {source!r} is not a store.", "Use --from local or --from s3.")
    settings = _settings(loaded, backup_dir)
    target = db.resolve(settings, dict(loaded.sources))
    plan = restoring.prepare(
        ref,
        settings,
        target,
        target_db=target_db,
        source=source,
        no_owner=no_owner,
        from_other_database=from_other_database,
    )
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for label, text in restoring.describe(plan):
        grid.add_row(label, escape(text))
    err.print(grid)
    if not yes:
        question = (
            f"Replace the contents of {plan.target.display} with this backup?"
            if not plan.create
            else f"Create {plan.target.display} from this backup?"
        )
        if plan.other_origin:
            question = f"This backup is from another database: {plan.other_origin}. {question}"
        if not typer.confirm(question, default=False, err=True):
            raise Refused("Restore cancelled; nothing was changed.")
    result = restoring.run(plan, settings)
    out.print(
        f"[green]Restored[/] {plan.backup.id} into {escape(plan.target.display)} in {result.seconds:.1f}s"
        + (
            f"; recorded version {escape(result.recorded_version)} as a restore in schema_versions"
            if result.recorded_version
            else ""
        ),
        soft_wrap=True,
    )
