"""The strongest convergence check: what `sync` builds is what `create_all` builds, as `pg_dump` prints it.

Two empty databases: one gets `metadata.create_all()`, the other `sync` from nothing. Their
`pg_dump --schema-only` texts, with only dump noise removed (comments, SET lines, blank lines) and our
own bookkeeping tables left out, must be identical: every type, default, constraint, index, sequence,
comment and ownership detail, in a rendering neither side of our engine produced.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from sqlalchemy import MetaData

from tests.conftest import EXAMPLES, TestDB, drop_database, make_database, url_for
from tests.engine.schema_helpers import create_all, has_extensions
from tests.engine.sync_helpers import sync


def schema_dump(db: TestDB) -> str:
    from schemasync import db as dbmod
    from schemasync import pgtools

    target = dbmod.parse_url(db.url, "test")
    with db.connect() as conn:
        server = int(conn.info.server_version)
    binary = pgtools.find("pg_dump", server // 10000)
    out = subprocess.run(
        [
            str(binary.path),
            "--schema-only",
            "--no-owner",
            "--no-privileges",
            "-T",
            "public.schema_versions",
            "-T",
            "public.schema_snapshots",
            "-T",
            "public.schema_versions_id_seq",
            "-T",
            "public.schema_snapshots_id_seq",
            "-d",
            target.conninfo,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = [
        line
        for line in out.splitlines()
        if line.strip()
        and not line.startswith(("--", "SET ", "SELECT pg_catalog.set_config", "\\restrict", "\\unrestrict"))
    ]
    return "\n".join(lines)


@pytest.fixture
def twin() -> Iterator[TestDB]:
    name = make_database()
    try:
        yield TestDB(name, url_for(name))
    finally:
        drop_database(name)


def _example() -> MetaData:
    from schemasync.schema.target import load_models

    return load_models("exampleapp.models:Base", EXAMPLES / "app")


def _rich(db: TestDB) -> MetaData:
    from tests.engine import rich_models

    return rich_models.build(extensions=has_extensions(db, rich_models.EXTENSIONS))


@pytest.mark.parametrize("which", ["example app", "rich model"])
def test_sync_from_nothing_dumps_the_same_as_create_all(pg: TestDB, twin: TestDB, which: str) -> None:
    from tests.engine import rich_models

    metadata = _example() if which == "example app" else _rich(pg)
    schemas: tuple[str, ...] = () if which == "example app" else rich_models.SCHEMAS
    extensions: tuple[str, ...] = ()
    if which == "rich model" and has_extensions(pg, rich_models.EXTENSIONS):
        extensions = rich_models.EXTENSIONS
    create_all(pg, metadata, schemas=schemas, extensions=extensions)
    create_all(twin, MetaData(), schemas=schemas, extensions=extensions)  # same empty schemas and extensions
    _, applied = sync(twin, metadata)
    assert applied is not None
    expected, actual = schema_dump(pg), schema_dump(twin)
    assert actual == expected
