"""Imports every command module so that each registers its commands on the Typer app.

One `import` statement per module (not one `from ... import a, b, c` line) so that people adding
command modules at the same time do not conflict on a single line.
"""

import schemasync.cli.backups
import schemasync.cli.drift
import schemasync.cli.info
import schemasync.cli.introspect
import schemasync.cli.migrations
import schemasync.cli.operators
import schemasync.cli.production
import schemasync.cli.schema
import schemasync.cli.snapshots
import schemasync.cli.studio  # noqa: F401
