"""`schemasync drift`: the scheduled drift check's verdict, without Prefect, for one database or a fleet.

Without `--targets` it checks the configured database against the configured models (like `check`,
but reporting versions and hazards the way the `drift-check` flow does). With `--targets FILE`
(TOML or YAML) it checks every target in the file, one after another; the flow fans the same checks
out in parallel. Exit codes: 0 all in sync, 2 any drifted, 1 none drifted but some could not be
checked (see `schemasync/drift.py` for why drift wins).
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from schemasync.cli.app import app, out, uses_settings
from schemasync.config import Loaded
from schemasync.errors import ConfigError

if TYPE_CHECKING:
    from schemasync.drift import DriftResult, FleetTarget

TargetsOpt = Annotated[
    Path | None,
    typer.Option(
        "--targets",
        help="A targets file (targets.toml or .yaml) naming the databases to check; default: the configured database.",
        show_default=False,
        dir_okay=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]


def read_secret_block(name: str) -> str:
    """A Prefect Secret block's value, through the configured Prefect API (imported only when needed)."""
    from schemasync.workflows.tasks.drift import read_secret_block as read  # lazy: start-up (Prefect)

    return read(name, require_api=True)


def _with_flag_defaults(targets: list[FleetTarget], loaded: Loaded) -> list[FleetTarget]:
    """--models, --env, --app-version and --project-dir fill what a target leaves unset."""
    given = {n for n in ("models", "env", "app_version", "project_dir") if loaded.source_of(n).startswith("flag")}
    if not given:
        return targets
    s = loaded.settings
    return [
        replace(
            t,
            models=t.models or (s.models if "models" in given else None),
            env=t.env or (s.env if "env" in given else None),
            app_version=t.app_version or (s.app_version if "app_version" in given else None),
            project_dir=t.project_dir or (s.project_dir if "project_dir" in given else None),
        )
        for t in targets
    ]


@app.command(rich_help_panel="Look")
@uses_settings(dev_url=True)
def drift(loaded: Loaded, targets: TargetsOpt = None, json_output: JsonOpt = False) -> None:
    """Check databases against their models: versions, changes, hazards (never writes).

    Exit 0 when every target is in sync, 2 when any drifted, 1 when none drifted but some could not be checked.
    """
    from schemasync import db  # lazy: start-up (psycopg)
    from schemasync import drift as engine_drift  # lazy: start-up (the diff, the planner)

    if targets is not None:
        if loaded.source_of("database_url").startswith("flag"):
            raise ConfigError(
                "--database-url and --targets both say which databases to check.",
                "Use one: --targets FILE for a fleet (each target names its URL's variable), or --database-url for one.",
            )
        fleet = _with_flag_defaults(engine_drift.load_targets(targets), loaded)
        environ = dict(os.environ)
        if loaded.settings.dev_url is not None and loaded.source_of("dev_url").startswith("flag"):
            environ["SCHEMASYNC_DEV_URL"] = loaded.settings.dev_url.get_secret_value()  # every target's dev database
        results = engine_drift.check_targets(fleet, environ=environ, read_secret=read_secret_block)
    else:
        settings = loaded.settings
        database = db.resolve(settings, dict(loaded.sources))
        results = [engine_drift.check_database(database, settings, name=database.name)]
    verdict = engine_drift.outcome(results)
    if json_output:
        out.print_json(json.dumps(engine_drift.report_json(results)))
    else:
        _print_report(results, verdict.message)
    raise SystemExit(int(verdict.exit_code))


def _print_report(results: list[DriftResult], message: str) -> None:
    from schemasync.drift import DriftStatus, table_rows  # lazy: start-up (the diff, the planner)
    from schemasync.plan.hazards import HazardKind  # lazy: start-up (the planner)

    styles = {
        DriftStatus.IN_SYNC: "green",
        DriftStatus.DRIFTED: "yellow",
        DriftStatus.UNREACHABLE: "red",
        DriftStatus.ERROR: "red",
    }
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    for column in ("target", "database", "env", "app", "database version", "in sync", "changes", "destructive"):
        table.add_column(column, overflow="fold")
    for result, row in zip(results, table_rows(results), strict=True):
        style = styles[result.status]
        table.add_row(
            escape(row["target"]),
            escape(row["database"]),
            escape(row["environment"]),
            escape(row["app version"]),
            escape(row["database version"] or ("-" if result.checked else "")),
            f"[{style}]{escape(row['in sync'] if result.checked else str(result.status))}[/]",
            escape(row["changes"]),
            f"[red]{len(result.destructive)}[/]" if result.destructive else ("0" if result.checked else ""),
        )
    out.print(table)
    for result in results:
        if result.status is DriftStatus.DRIFTED:
            out.print()
            out.print(f"[bold]{escape(result.target)}[/] ({escape(result.database)}) differs from its models:")
            for line in result.summary:
                out.print(f"  {escape(line)}", soft_wrap=True)
            for hazard in result.hazards:
                style = "red" if hazard.startswith(f"{HazardKind.DELETES_DATA.name}:") else "yellow"
                out.print(f"  [{style}]! {escape(hazard)}[/]", soft_wrap=True)
        elif not result.checked:
            out.print()
            text = (
                f"[bold]{escape(result.target)}[/] [red]{escape(str(result.status))}[/]: {escape(result.error or '')}"
            )
            out.print(text + (f" {escape(result.hint)}" if result.hint else ""), soft_wrap=True)
    out.print()
    out.print(escape(message), soft_wrap=True)
