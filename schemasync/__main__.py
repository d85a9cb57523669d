"""`python -m schemasync` runs the CLI."""

from schemasync.cli import main

main()
