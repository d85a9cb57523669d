"""alembic_utils entities as part of the models (issue 17): from the `entities` setting and from
`register_entities`, materialised, compared and synced like the models' own views."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from schemasync import engine
from schemasync.errors import ConfigError
from tests.conftest import TestDB, url_for
from tests.engine.sync_helpers import live, settings_for, still_differs, sync

pytest.importorskip("alembic_utils")

MODELS = """
import sqlalchemy as sa
metadata = sa.MetaData()
sa.Table("items", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("price", sa.Integer))
"""

ENTITIES = """
from alembic_utils.pg_view import PGView
from alembic_utils.pg_materialized_view import PGMaterializedView
cheap = PGView(schema="public", signature="cheap_items", definition="SELECT id, price FROM public.items WHERE price < {limit}")
count = PGMaterializedView(schema="public", signature="item_count",
                           definition="SELECT count(*) AS n, 'a:b'::text AS tag FROM public.items", with_data=True)
ENTITIES = [cheap, count]
"""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A project directory with a uniquely named package (modules are cached per process)."""
    name = f"proj_{uuid.uuid4().hex[:8]}"
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / name / "models.py").write_text(MODELS)
    yield tmp_path, name
    from alembic_utils.replaceable_entity import registry

    registry.clear()


def _metadata(pg: TestDB, root: Path, package: str, entities: str | None):  # type: ignore[no-untyped-def]
    settings = settings_for(pg, root, models=f"{package}.models:metadata", entities=entities)
    return engine.load_metadata(settings)


def test_entities_setting_creates_and_changes_views(pg: TestDB, project: tuple[Path, str]) -> None:
    root, package = project
    (root / package / "entities.py").write_text(ENTITIES.replace("{limit}", "10"))
    metadata = _metadata(pg, root, package, f"{package}.entities:ENTITIES")
    prepared, applied = sync(pg, metadata)
    assert applied is not None and not prepared.desired.unmanaged_declared
    assert {(v.name, v.materialized) for v in live(pg).views} == {("cheap_items", False), ("item_count", True)}
    assert still_differs(pg, metadata) == []
    pg.execute("INSERT INTO items (price) VALUES (5), (50)")
    assert pg.scalar("SELECT count(*) FROM cheap_items") == 1
    # a second package: the changed definition is a changed view
    other = f"{package}_b"
    (root / other).mkdir()
    (root / other / "__init__.py").write_text("")
    (root / other / "models.py").write_text(MODELS)
    (root / other / "entities.py").write_text(ENTITIES.replace("{limit}", "100"))
    changed = _metadata(pg, root, other, f"{other}.entities:ENTITIES")
    prepared, _ = sync(pg, changed)
    assert "CREATE OR REPLACE VIEW" in prepared.plan.sql()
    assert pg.scalar("SELECT count(*) FROM cheap_items") == 2
    assert still_differs(pg, changed) == []


def test_registered_entities_are_read_from_alembic_utils_registry(pg: TestDB, project: tuple[Path, str]) -> None:
    root, package = project
    (root / package / "models.py").write_text(
        MODELS
        + ENTITIES.replace("{limit}", "10")
        + "\nfrom alembic_utils.replaceable_entity import register_entities\nregister_entities(ENTITIES)\n"
    )
    metadata = _metadata(pg, root, package, None)
    sync(pg, metadata)
    assert {v.name for v in live(pg).views} == {"cheap_items", "item_count"}
    assert still_differs(pg, metadata) == []


def test_a_setting_naming_something_else_is_a_clear_error(pg: TestDB, project: tuple[Path, str]) -> None:
    root, package = project
    (root / package / "entities.py").write_text("ENTITIES = ['CREATE VIEW v AS SELECT 1']\nNUMBER = 3\n")
    with pytest.raises(ConfigError, match="not an alembic_utils entity"):
        _metadata(pg, root, package, f"{package}.entities:ENTITIES")
    with pytest.raises(ConfigError, match="not an alembic_utils entity or a list"):
        _metadata(pg, root, package, f"{package}.entities:NUMBER")
    with pytest.raises(ConfigError, match="has no attribute"):
        _metadata(pg, root, package, f"{package}.entities:MISSING")


GRANTS = """
from alembic_utils.pg_grant_table import PGGrantTable
ENTITIES = [
    PGGrantTable(schema="public", table="items", role={role!r}, grant="SELECT", columns=["id", "Price"]),
    PGGrantTable(schema="public", table="items", role={role!r}, grant="UPDATE", columns=["Price"], with_grant_option=True),
    PGGrantTable(schema="public", table="items", role={role!r}, grant="DELETE"),
]
"""


def test_pg_grant_table_gives_column_privileges(pg: TestDB, project: tuple[Path, str]) -> None:
    """PGGrantTable's column grants are managed like the models' own (its columns quoted, so a mixed-case one
    keeps its case), for the role it names."""
    root, package = project
    role = f"Reader_{uuid.uuid4().hex[:8]}"
    (root / package / "models.py").write_text(MODELS.replace('"price"', '"Price"'))
    (root / package / "entities.py").write_text(GRANTS.replace("{role!r}", repr(role)))
    with psycopg.connect(url_for("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}"')
    try:
        metadata = _metadata(pg, root, package, f"{package}.entities:ENTITIES")
        prepared, _ = sync(pg, metadata)
        assert not prepared.desired.unmanaged_declared and not prepared.desired.model_errors
        assert sorted((g.privilege, g.column, g.grantable) for g in live(pg).grants if g.grantee == role) == [
            ("DELETE", "", False),
            ("SELECT", "Price", False),
            ("SELECT", "id", False),
            ("UPDATE", "Price", True),
        ]
        assert still_differs(pg, metadata) == []
    finally:
        pg.execute(f'DROP OWNED BY "{role}"')
        with psycopg.connect(url_for("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP ROLE "{role}"')
