"""Imports every command module so that each registers its commands on the Typer app."""

from schemasync.cli import backups, info, schema, studio  # noqa: F401
