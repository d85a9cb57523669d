"""Human-readable sizes, shared by every report (status, plans, backups, the studio, Prefect artifacts)."""

from __future__ import annotations


def human_size(n: int) -> str:
    """1,536 -> '1.5 kB': binary multiples, one decimal, so sizes in different reports read the same."""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover (the loop always returns)
