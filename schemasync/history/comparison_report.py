"""A comparison as text lines (the terminal), Markdown (artifacts, pull requests) and JSON (machines)."""

from __future__ import annotations

from typing import Any

from schemasync.history.comparison import KINDS, Comparison
from schemasync.safetext import escape_markdown as md
from schemasync.safetext import markdown_code as code

STATUS = {"added": "added", "dropped": "dropped", "renamed": "renamed", "changed": "changed", "other": ""}


def heading(comparison: Comparison) -> str:
    return f"From {comparison.older.title}\n  to {comparison.newer.title}"


def lines(comparison: Comparison) -> list[tuple[str, str | None]]:
    """(text, style) pairs; styles are Rich style names, applied by the caller (never markup)."""
    out: list[tuple[str, str | None]] = [(heading(comparison), "bold")]
    if comparison.identical:
        out.append((comparison.summary(), "green"))
        return out
    out.append((comparison.summary(), "yellow"))
    for group in comparison.groups:
        out.append(("", None))
        status = STATUS[group.status]
        out.append((f"{group.title}" + (f" ({status})" if status else ""), "bold"))
        for item in group.items:
            style = {"+": "green", "-": "red", "~": "yellow"}.get(item.text[:1])
            out.append((f"  {item.text}", style))
    if comparison.renames:
        out.append(("", None))
        out.append(("Possibly renamed (shown above as dropped and added): " + "; ".join(comparison.renames), "dim"))
    return out


def markdown(comparison: Comparison) -> str:
    parts = [
        "## Schema comparison",
        "",
        f"- **From:** {md(comparison.older.title)}",
        f"- **To:** {md(comparison.newer.title)}",
        "",
        md(comparison.summary()),
    ]
    if comparison.identical:
        return "\n".join(parts) + "\n"
    parts += ["", "| kind | count |", "|---|---:|"]
    parts += [f"| {KINDS[k][1 if n != 1 else 0]} | {n} |" for k, n in comparison.counts.items()]
    for group in comparison.groups:
        status = STATUS[group.status]
        parts += ["", f"### {code(group.title)}" + (f" ({status})" if status else ""), ""]
        parts += [f"- `{item.text[:1]}` {md(item.text[2:])}" for item in group.items]
    if comparison.renames:
        parts += ["", "Possibly renamed (shown above as dropped and added): " + md("; ".join(comparison.renames))]
    return "\n".join(parts) + "\n"


def to_json(comparison: Comparison) -> dict[str, Any]:
    return {
        "from": comparison.older.to_json(),
        "to": comparison.newer.to_json(),
        "identical": comparison.identical,
        "summary": comparison.summary(),
        "total": comparison.total,
        "counts": comparison.counts,
        "tables": [
            {
                "schema": g.schema,
                "table": g.table,
                "status": g.status,
                "changes": [
                    {"kind": i.kind, "text": i.text, "counted": i.counted, "change": i.change} for i in g.items
                ],
            }
            for g in comparison.groups
        ],
        "possible_renames": list(comparison.renames),
    }
