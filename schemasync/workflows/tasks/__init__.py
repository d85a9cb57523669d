"""Prefect tasks: thin wrappers, one engine call each (retries, caching and artifacts are set here)."""
