"""The desired side: models -> Schema by materialising them, compared with what create_all leaves live."""

from __future__ import annotations

import sys
import textwrap
import uuid
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
from sqlalchemy import Column, ForeignKey, Index, Integer, MetaData, String, Table, Text

from schemasync.errors import ConfigError
from schemasync.schema.ddl import compile_models, model_schemas
from schemasync.schema.inspect import inspect
from schemasync.schema.model import RenameHints, Schema
from schemasync.schema.target import desired, load_models, rename_hints
from tests.conftest import EXAMPLES
from tests.engine import rich_models
from tests.engine.schema_helpers import counted, create_all, put_rich_model_in_place, scratch_schemas

if TYPE_CHECKING:
    from tests.conftest import TestDB


def _example_metadata() -> MetaData:
    return load_models("exampleapp.models:Base", EXAMPLES / "app")


# -- no false drift --------------------------------------------------------------------------------


def test_example_app_has_no_false_drift(pg: TestDB) -> None:
    metadata = _example_metadata()
    create_all(pg, metadata)
    with pg.connect() as conn:
        live = inspect(conn)
        wanted = desired(conn, metadata, cache_dir=None)
    assert len(live.tables) == 4 and len(live.enums) == 2
    assert wanted == live
    assert wanted.hash() == live.hash()


def test_rich_model_has_no_false_drift(pg: TestDB) -> None:
    metadata, extensions = put_rich_model_in_place(pg)
    with pg.connect() as conn:
        live = inspect(conn)
        wanted = desired(conn, metadata, cache_dir=None)
    # The models use the database's extensions without declaring them: wanted, at whichever version.
    installed = [x.name for x in live.extensions]
    assert installed == (["citext", "pg_trgm"] if extensions else [])
    assert wanted == replace(live, extensions=tuple(replace(x, version=None) for x in live.extensions))
    assert Schema.from_json(wanted.to_json()) == wanted
    assert model_schemas(metadata) == ("Reporting", "inventory", "public")


def test_desired_differs_when_the_models_differ(pg: TestDB) -> None:
    """The other half of "no false drift": a real difference is not normalised away."""
    metadata = _example_metadata()
    create_all(pg, metadata)
    pg.execute("ALTER TABLE users ALTER COLUMN display_name TYPE varchar(200)")
    with pg.connect() as conn:
        live = inspect(conn)
        wanted = desired(conn, metadata, cache_dir=None)
    assert wanted != live
    assert wanted.table("public", "users").column("display_name").type == "character varying(120)"  # type: ignore[union-attr]
    assert live.table("public", "users").column("display_name").type == "character varying(200)"  # type: ignore[union-attr]


def test_desired_on_an_empty_database_needs_no_schemas_in_place(pg: TestDB) -> None:
    """The models' schemas need not exist yet in the target database (the first sync creates them)."""
    with pg.connect() as conn:
        wanted = desired(conn, rich_models.build(extensions=False), cache_dir=None)
        live = inspect(conn)
    assert wanted.schemas == ("Reporting", "inventory")
    assert len(wanted.tables) == 6
    assert live.tables == () and live.schemas == ()


def test_empty_models_give_an_empty_schema(pg: TestDB) -> None:
    with pg.connect() as conn:
        wanted = desired(conn, MetaData(), cache_dir=None)
    assert wanted == Schema() and wanted.server_version > 0


def test_two_materialisations_at_once_do_not_block_each_other(pg: TestDB) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def one(_: int) -> Schema:
        with pg.connect() as conn:
            conn.execute("SET lock_timeout = '5s'")
            return desired(conn, rich_models.build(extensions=False), cache_dir=None)

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(one, range(2))
    assert first == second and len(first.tables) == 6
    assert scratch_schemas(pg) == []


# -- scratch schemas leave no trace ----------------------------------------------------------------


def test_scratch_schemas_leave_no_trace(pg: TestDB) -> None:
    create_all(pg, _example_metadata())
    with pg.connect() as conn:
        before = inspect(conn)
        desired(conn, rich_models.build(extensions=False), cache_dir=None)
        assert inspect(conn) == before
    assert scratch_schemas(pg) == []


def test_desired_inside_the_callers_transaction_keeps_its_work(pg: TestDB) -> None:
    pg.execute("CREATE TABLE mine (id int)")
    with psycopg.connect(pg.url) as conn:
        conn.execute("INSERT INTO mine VALUES (1)")
        wanted = desired(conn, _example_metadata(), cache_dir=None)
        assert len(wanted.tables) == 4
        assert conn.execute("SHOW search_path").fetchone() == ('"$user", public',)
        conn.commit()
    assert pg.scalar("SELECT count(*) FROM mine") == 1
    assert scratch_schemas(pg) == []


def _bad_opclass_models() -> MetaData:
    md = MetaData()
    t = Table("docs", md, Column("id", Integer, primary_key=True), Column("title", Text))
    Index("ix_docs_title_bad", t.c.title, postgresql_using="gin", postgresql_ops={"title": "jsonb_path_ops"})
    return md


def test_ddl_failure_names_the_object_and_the_servers_message(pg: TestDB) -> None:
    """A refused object is a model error (the rest is still read), named with the server's message."""
    with pg.connect() as conn:
        wanted = desired(conn, _bad_opclass_models(), cache_dir=None)
    (error,) = wanted.model_errors
    assert error.what == "index ix_docs_title_bad on table public.docs"
    assert (error.kind, error.schema, error.table, error.name) == ("index", "public", "docs", "ix_docs_title_bad")
    assert "operator class" in error.reason and "jsonb_path_ops" in error.reason
    assert "ss_scratch" not in error.reason, "scratch names are mapped back in the server's message"
    assert "\n" not in error.describe()
    assert [t.name for t in wanted.tables] == ["docs"] and wanted.tables[0].indexes == ()
    assert scratch_schemas(pg) == []
    assert pg.scalar("SELECT count(*) FROM pg_class WHERE relname = 'docs'") == 0


def test_identifier_collision_after_truncation_is_explained(pg: TestDB) -> None:
    md = MetaData()
    prefix = "customer_subscription_billing_history_with_a_rather_long_names_"  # 63 characters
    Table(
        "billing",
        md,
        Column("id", Integer, primary_key=True),
        Column(prefix + "monthly", Integer),
        Column(prefix + "yearly", Integer),
    )
    with pg.connect() as conn, pytest.raises(ConfigError) as caught:
        desired(conn, md, cache_dir=None)
    message = str(caught.value)  # caught before PostgreSQL's own "specified more than once"
    assert (
        f"the column '{prefix}monthly' of public.billing and the column '{prefix}yearly' of public.billing" in message
    )
    assert f"would both store as '{prefix}'" in message
    assert "63 bytes" in message  # the hint says why
    assert scratch_schemas(pg) == []


def test_too_long_constraint_name_is_a_config_error(pg: TestDB) -> None:
    md = MetaData()
    name = "ix_" + "x" * 70
    t = Table("t", md, Column("id", Integer, primary_key=True))
    Index(name, t.c.id)
    with pg.connect() as conn, pytest.raises(ConfigError) as caught:
        desired(conn, md, cache_dir=None)
    assert name in str(caught.value) and "63" in str(caught.value)


def test_model_that_sqlalchemy_cannot_compile_is_a_config_error(pg: TestDB) -> None:
    md = MetaData()
    Table("a", md, Column("id", Integer, primary_key=True), Column("b_id", ForeignKey("missing.id")))
    with pg.connect() as conn, pytest.raises(ConfigError) as caught:
        desired(conn, md, cache_dir=None)
    assert "missing" in str(caught.value)


def test_missing_create_privilege_is_explained(pg: TestDB) -> None:
    role = f"sstest_role_{uuid.uuid4().hex[:8]}"
    pg.execute(f"CREATE ROLE {role} NOLOGIN")
    try:
        with pg.connect() as conn:
            conn.execute(f"SET ROLE {role}")
            with pytest.raises(ConfigError) as caught:
                desired(conn, _example_metadata(), cache_dir=None)
            conn.execute("RESET ROLE")
        message = str(caught.value)
        assert "scratch schema" in message and "permission denied" in message
        assert f"GRANT CREATE ON DATABASE {pg.name} TO {role}" in message
    finally:
        pg.execute(f"DROP ROLE {role}")


# -- cache -----------------------------------------------------------------------------------------


def test_cache_makes_a_repeated_check_free(pg: TestDB, tmp_path: Path) -> None:
    metadata = _example_metadata()
    cache = tmp_path / "cache"
    with counted(pg) as (conn, statements):
        cold = desired(conn, metadata, cache_dir=cache)
        cold_count = len(statements)
        warm = desired(conn, metadata, cache_dir=cache)
        warm_count = len(statements) - cold_count
    assert cold_count > 0
    assert warm_count == 0
    assert warm == cold
    assert warm.server_version == cold.server_version > 0
    assert len(list(cache.glob("desired-*.json"))) == 1


def test_cache_entry_follows_the_models_and_survives_corruption(pg: TestDB, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    metadata = _example_metadata()
    with pg.connect() as conn:
        first = desired(conn, metadata, cache_dir=cache)
        (entry,) = cache.glob("desired-*.json")
        entry.write_text("{not json")
        again = desired(conn, metadata, cache_dir=cache)
        assert again == first
        assert Schema.from_json(entry.read_text()) == first, "the broken entry was rewritten"

        changed = _example_metadata()
        Table("extra", changed, Column("id", Integer, primary_key=True))
        other = desired(conn, changed, cache_dir=cache)
    assert other.table("public", "extra") is not None
    assert len(list(cache.glob("desired-*.json"))) == 2


def test_model_schemas_without_compiling_match_the_compiled_ddl() -> None:
    for metadata in (rich_models.build(), rich_models.build(extensions=False), _example_metadata()):
        assert model_schemas(metadata) == compile_models(metadata).schemas
    md = MetaData(schema="tenant")
    Table("t", md, Column("id", Integer, primary_key=True))
    assert model_schemas(md) == compile_models(md).schemas == ("tenant",)


def test_compiled_ddl_is_stable_across_runs() -> None:
    """The cache key is a hash of the DDL: it must not depend on scratch names or object identity."""
    assert compile_models(rich_models.build()).digest() == compile_models(rich_models.build()).digest()
    assert compile_models(rich_models.build()).digest() != compile_models(_example_metadata()).digest()


# -- rename hints ----------------------------------------------------------------------------------


def test_rename_hints_from_info() -> None:
    md = MetaData()
    Table(
        "people",
        md,
        Column("id", Integer, primary_key=True),
        Column("full_name", String, info={"renamed_from": "name"}),
        Column("same", String, info={"renamed_from": "same"}),
        info={"renamed_from": "users"},
    )
    Table("events", md, Column("kind", String, info={"renamed_from": "type"}), schema="audit")
    hints = rename_hints(md)
    assert hints == RenameHints(
        tables=(("public", "people", "users"),),
        columns=(("audit", "events", "kind", "type"), ("public", "people", "full_name", "name")),
    )
    assert hints.old_table("public", "people") == "users"
    assert hints.old_column("audit", "events", "kind") == "type"


def test_rename_hint_of_the_wrong_kind_is_a_config_error() -> None:
    md = MetaData()
    Table("t", md, Column("a", Integer, info={"renamed_from": 3}))
    with pytest.raises(ConfigError, match=r"column public\.t\.a"):
        rename_hints(md)


# -- loading the models ----------------------------------------------------------------------------


def _project(tmp_path: Path, source: str, module: str | None = None) -> tuple[Path, str]:
    module = module or f"models_{uuid.uuid4().hex[:8]}"
    project = tmp_path / "project"
    project.mkdir(parents=True, exist_ok=True)
    (project / f"{module}.py").write_text(textwrap.dedent(source))
    return project, module


GOOD = """
    from sqlalchemy import Column, Integer, MetaData, Table
    from sqlalchemy.orm import DeclarativeBase

    class Base(DeclarativeBase):
        pass

    class Thing(Base):
        __tablename__ = "things"
        id = Column(Integer, primary_key=True)

    metadata = MetaData()
    Table("plain", metadata, Column("id", Integer, primary_key=True))
    not_models = 42
"""


def test_load_models_accepts_a_base_a_metadata_and_a_dotted_path(tmp_path: Path) -> None:
    project, module = _project(tmp_path, GOOD)
    assert list(load_models(f"{module}:Base", project).tables) == ["things"]
    assert list(load_models(f"{module}:metadata", project).tables) == ["plain"]
    assert list(load_models(f"{module}:Base.metadata", project).tables) == ["things"]


def test_same_module_name_in_another_project_is_loaded_afresh(tmp_path: Path) -> None:
    name = f"shared_{uuid.uuid4().hex[:8]}"
    one, _ = _project(tmp_path / "one", GOOD, name)
    two, _ = _project(tmp_path / "two", GOOD.replace('"things"', '"others"'), name)
    assert list(load_models(f"{name}:Base", one).tables) == ["things"]
    assert list(load_models(f"{name}:Base", two).tables) == ["others"]
    sys.modules.pop(name, None)


@pytest.mark.parametrize(
    ("source", "attribute", "expected"),
    [
        (None, "Base", r"module 'nowhere_[0-9a-f]+' \(from models = .*\) was not found"),
        ("def broken(:\n    pass\n", "Base", r"has a syntax error: .*line 1"),
        ("raise RuntimeError('no DATABASE here')\n", "Base", r"raised RuntimeError: no DATABASE here \(.*line 1\)"),
        (
            "import os\n\nos.environ['SSTEST_UNSET_VARIABLE']\n",
            "Base",
            r"raised KeyError: 'SSTEST_UNSET_VARIABLE' \(.*models_\w+\.py, line 3\)",
        ),
        ("import not_installed_pkg_xyz\n", "Base", r"imports 'not_installed_pkg_xyz', which is not installed"),
        (GOOD, "Missing", r"has no attribute 'Missing'"),
        (GOOD, "not_models", r"is of type int, not a SQLAlchemy MetaData or declarative base"),
        ("import sys\nsys.exit(3)\n", "Base", r"raised SystemExit"),
    ],
)
def test_bad_models_modules_are_config_errors(
    tmp_path: Path, source: str | None, attribute: str, expected: str
) -> None:
    if source is None:
        project, module = tmp_path, f"nowhere_{uuid.uuid4().hex[:8]}"
    else:
        project, module = _project(tmp_path, source)
    with pytest.raises(ConfigError, match=expected) as caught:
        load_models(f"{module}:{attribute}", project)
    assert caught.value.hint
    assert "Traceback" not in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("spec", ["no_colon", ":Base", "mod:", "bad-name:Base"])
def test_malformed_models_setting_is_a_config_error(tmp_path: Path, spec: str) -> None:
    with pytest.raises(ConfigError, match="module:attribute"):
        load_models(spec, tmp_path)


def test_unnamed_index_without_a_naming_pattern_is_a_config_error() -> None:
    """SQLAlchemy signals this with a bare AssertionError: it must still reach the user as bad input."""
    metadata = MetaData(naming_convention={"pk": "pk_%(table_name)s"})
    table = Table("t", metadata, Column("id", Integer, primary_key=True), Column("x", Integer))
    Index(None, table.c.x)
    with pytest.raises(ConfigError, match=r"\(unnamed\) on table public\.t has no name") as caught:
        compile_models(metadata)
    assert "naming_convention" in str(caught.value)
