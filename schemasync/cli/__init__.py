"""Command-line interface: `schemasync` (`entry.py` runs it, `app.py` holds the conventions, `commands.py` the list)."""
