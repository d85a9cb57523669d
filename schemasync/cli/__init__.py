"""Command-line interface: `schemasync` (see `app.py` for conventions, `commands.py` for the list)."""

from schemasync.cli.app import app, main

__all__ = ["app", "main"]
