"""Operator commands for production runs paused for approval: `approve`, `reject`, `runs`.

Prefect 3 has no CLI to resume a paused run, so these answer it through the configured Prefect API
(PREFECT_API_URL or the active Prefect profile). Prefect is imported inside the commands only, so
`schemasync --help` and `status` do not pay for it; the protocol itself (keys, the Approval form)
lives in `schemasync/workflows/approval.py`.
"""

from __future__ import annotations

import getpass
import json
import uuid
from typing import Annotated

import typer
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table

from schemasync import safetext, secrets
from schemasync.cli.app import app, enable_debug, out
from schemasync.errors import ConfigError

RunId = Annotated[str, typer.Argument(help="Flow run id (see `schemasync runs`).", show_default=False)]
Debug = Annotated[bool, typer.Option("--debug", help="Show debug logs and tracebacks.", rich_help_panel="Output")]
As = Annotated[
    str | None,
    typer.Option("--as", help="Name recorded as the approver (default: your login name).", show_default=False),
]


def _approver(name: str | None) -> str:
    if name is None:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = ""
    if not name.strip():
        raise ConfigError(
            "The approver's name is empty.", "Say who answers with --as NAME; it is recorded in schema_versions."
        )
    name = safetext.person(name, "approver's name (--as)")
    if len(name) > 200:
        raise ConfigError("The approver's name is longer than 200 characters.", "Use a shorter --as NAME.")
    return name


def _run_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        raise ConfigError(
            f"{text!r} is not a flow run id.",
            "Flow run ids are UUIDs such as 0b7c2d1e-5a4f-4c1e-9f0a-3d2b1c4e5f6a; `schemasync runs` lists the runs waiting for approval.",
        ) from None


def _answer(run_id: str, *, approve: bool, approver: str, comment: str) -> None:
    """Check everything we can before paying for the Prefect import, then answer the run."""
    rid = _run_id(run_id)
    if len(comment) > 2000:
        raise ConfigError("The comment is longer than 2000 characters.", "Shorten --comment.")
    from schemasync.workflows.approval import Approval, answer  # lazy: start-up (Prefect, seconds)

    # Prefect stores the run input: a secret pasted into the comment must not go with it.
    done = answer(rid, Approval(approve=approve, approver=approver, comment=secrets.scrub(comment)))
    if approve:
        out.print(
            f"[green]Approved[/] flow run {done.run_id} ({escape(done.run_name)}, flow {escape(done.flow_name)}) as {escape(approver)}; "
            "the run continues with the change."
        )
    else:
        out.print(
            f"[yellow]Rejected[/] flow run {done.run_id} ({escape(done.run_name)}, flow {escape(done.flow_name)}) as {escape(approver)}; "
            "the run records the rejection and stops without changing the schema."
        )


@app.command(rich_help_panel="Production")
def approve(
    run_id: RunId,
    comment: Annotated[str, typer.Option("--comment", "-m", help="Why; recorded with the approval.")] = "",
    as_: As = None,
    debug: Debug = False,
) -> None:
    """Approve a production run waiting for approval: it goes on to apply its plan."""
    if debug:
        enable_debug()
    _answer(run_id, approve=True, approver=_approver(as_), comment=comment.strip())


@app.command(rich_help_panel="Production")
def reject(
    run_id: RunId,
    comment: Annotated[
        str, typer.Option("--comment", "-m", help="Why the change is rejected (required).", show_default=False)
    ],
    as_: As = None,
    debug: Debug = False,
) -> None:
    """Reject a production run waiting for approval: it records why and stops without changing anything."""
    if debug:
        enable_debug()
    if not comment.strip():
        raise ConfigError(
            "A rejection needs a reason.", "Say why with --comment TEXT; it is recorded in schema_versions."
        )
    _answer(run_id, approve=False, approver=_approver(as_), comment=comment.strip())


@app.command(rich_help_panel="Production")
def runs(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON for machines instead of the table.")] = False,
    debug: Debug = False,
) -> None:
    """Production runs waiting for approval, with their plan summary and backup."""
    if debug:
        enable_debug()
    from schemasync.workflows.approval import api_url, pending_approvals  # lazy: start-up (Prefect, seconds)

    pending = pending_approvals()
    if json_output:
        out.print_json(json.dumps([p.to_json() for p in pending]))
        return
    if not pending:
        out.print(f"No production runs are waiting for approval on {escape(api_url())}.")
        return
    out.print(f"Runs waiting for approval on {escape(api_url())}:")
    for p in pending:
        r = {k: escape(v) for k, v in p.request.items()}
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        grid.add_row(
            "database", r.get("database", "") + (f"  [dim]({r['environment']})[/]" if r.get("environment") else "")
        )
        grid.add_row("versions", f"{r.get('database_version') or '-'} -> {r.get('app_version') or '-'}")
        grid.add_row("plan", r.get("summary", ""))
        if r.get("hazards"):
            grid.add_row("hazards", f"[yellow]{r['hazards']}[/]")
        grid.add_row("backup", r.get("backup") or "[dim]none[/]")
        grid.add_row("started by", r.get("initiator") or "[dim]unknown[/]")
        if r.get("approvers") or r.get("separate_approver"):
            who = r.get("approvers") or "anyone"
            grid.add_row("approvers", who + (" [dim](not the initiator)[/]" if r.get("separate_approver") else ""))
        grid.add_row("paused", f"{_when(p.paused_at)} UTC, expires {_when(p.expires_at)} UTC")
        out.print()
        out.print(f"[bold]{p.run_id}[/]  {escape(p.run_name)} [dim](flow {escape(p.flow_name)})[/]", soft_wrap=True)
        out.print(Padding(grid, (0, 0, 0, 2)))
    out.print()
    out.print("Answer with [bold]schemasync approve RUN_ID[/] or [bold]schemasync reject RUN_ID --comment TEXT[/].")


def _when(iso: str | None) -> str:
    return iso.replace("T", " ")[:19] if iso else "-"
