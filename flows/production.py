"""Entrypoint for `prefect deploy` from the checkout (prefect.yaml): the flow lives in `schemasync.workflows.flows.production`.

The package installs it under its own namespace; this file only gives prefect.yaml a path to point at.
"""

from schemasync.workflows.flows.production import production_deploy

__all__ = ["production_deploy"]
