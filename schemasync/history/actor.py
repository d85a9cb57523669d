"""Who is running this, as recorded in `schema_versions.applied_by` and `schema_snapshots.taken_by`."""

from __future__ import annotations

import getpass
import socket


def actor() -> str:
    """OS user at host (the database role is visible in the server's own logs)."""
    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()}"[:200]
