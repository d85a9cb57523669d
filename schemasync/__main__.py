"""`python -m schemasync` runs the CLI."""

from schemasync.cli.entry import main

main()
