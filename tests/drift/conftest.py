"""Fixtures of the drift tests: two databases besides `pg`, one in sync and one drifted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import TestDB, drop_database, make_database, url_for
from tests.drift import helpers


@pytest.fixture
def fleet_dbs() -> Iterator[dict[str, TestDB]]:
    """{"synced": a database matching the models at the app's version, "drifted": one two changes behind}."""
    made: list[str] = []
    try:
        dbs = {}
        for role in ("synced", "drifted"):
            name = make_database()
            made.append(name)
            dbs[role] = TestDB(name, url_for(name))
        helpers.in_sync(dbs["synced"])
        helpers.drifted(dbs["drifted"])
        yield dbs
    finally:
        for name in made:
            drop_database(name)
