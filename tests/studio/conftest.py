"""Fixtures for the studio tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TestDB
from tests.studio.helpers import Studio, make_studio, shop


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path


@pytest.fixture
def shop_studio(pg: TestDB, project: Path) -> Studio:
    """A studio on a database holding the sample shop (no models configured)."""
    shop(pg)
    return make_studio(pg.url, project)
