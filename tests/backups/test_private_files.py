"""The backup directory is its owner's alone however it came to exist (`schemasync.privatefiles`)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemasync.backups.take import write_dump
from schemasync.db import parse_url
from tests.backups.helpers import fill, make_settings
from tests.conftest import TestDB


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # under which default modes are 0755 / 0644
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("usual_umask")
def test_an_existing_open_backup_directory_is_made_private_by_the_next_backup(tmp_path: Path, pg: TestDB) -> None:
    """A directory made by hand (or by `mkdir` under the usual umask) was left 0755 beside 0600 dumps."""
    fill(pg, rows=20)
    root = tmp_path / "backups"
    root.mkdir(mode=0o755)
    assert _mode(root) == 0o755
    dump, _, _ = write_dump(make_settings(tmp_path, url=pg.url), parse_url(pg.url, "test"))
    assert dump.parent == root
    assert _mode(root) == 0o700
    assert {p.name: _mode(p) for p in root.iterdir()} == {p.name: 0o600 for p in root.iterdir()}


@pytest.mark.usefixtures("usual_umask")
def test_missing_parents_of_the_backup_directory_are_created_private(tmp_path: Path, pg: TestDB) -> None:
    """`mkdir(parents=True)` made the parents 0755 whatever the mode asked for the last part."""
    fill(pg, rows=20)
    root = tmp_path / "srv" / "db" / "backups"
    write_dump(make_settings(tmp_path, url=pg.url, backup_dir=str(root)), parse_url(pg.url, "test"))
    assert {str(d): _mode(d) for d in (tmp_path / "srv", root.parent, root)} == {
        str(d): 0o700 for d in (tmp_path / "srv", root.parent, root)
    }
