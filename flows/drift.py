"""Entrypoint for `prefect deploy` from the checkout (prefect.yaml): the flow lives in `schemasync.workflows.flows.drift`.

The package installs it under its own namespace; this file only gives prefect.yaml a path to point at.
"""

from schemasync.workflows.flows.drift import drift_check

__all__ = ["drift_check"]
