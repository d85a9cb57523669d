"""Imports every command module so that each registers its commands on the Typer app."""

from schemasync.cli import backups, info, operators, schema, studio  # noqa: F401
