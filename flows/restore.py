"""Entrypoint for `prefect deploy` from the checkout (prefect.yaml): the flow lives in `schemasync.workflows.flows.restore`.

The package installs it under its own namespace; this file only gives prefect.yaml a path to point at.
"""

from schemasync.workflows.flows.restore import restore_database

__all__ = ["restore_database"]
