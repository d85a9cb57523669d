"""Fixtures of the flow tests: the drift flow checks the two databases the drift tests use."""

from tests.drift.conftest import fleet_dbs

__all__ = ["fleet_dbs"]
