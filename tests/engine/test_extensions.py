"""Extensions (issue 17): declared by a DDL event, created from an empty database before the tables that use
them, updated to a pinned version, left alone when hand-made and dropped only with prune."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import DDL, Column, Index, Integer, MetaData, Table, Text, event, func, text
from sqlalchemy.dialects.postgresql import CITEXT, UUID

from schemasync.schema.extensions import References, parse_create
from schemasync.schema.model import RenameHints
from tests.conftest import TestDB, drop_database, make_database, url_for
from tests.engine.schema_helpers import create_all, has_extensions
from tests.engine.sync_helpers import prepare, rediff, sync
from tests.engine.test_pg_dump_equal import schema_dump

pytestmark = pytest.mark.usefixtures("_contrib")


@pytest.fixture
def _contrib(pg: TestDB) -> None:
    if not has_extensions(pg, ("citext", "hstore", "uuid-ossp")):
        pytest.skip("the server has no contrib extensions (citext, hstore, uuid-ossp)")


def _models(create: str = "CREATE EXTENSION IF NOT EXISTS citext") -> MetaData:
    metadata = MetaData()
    event.listen(metadata, "before_create", DDL(create))
    Table("users", metadata, Column("id", Integer, primary_key=True), Column("email", CITEXT, nullable=False))
    return metadata


def _installed(pg: TestDB) -> dict[str, tuple[str, str]]:
    rows = pg.execute(
        "SELECT e.extname, n.nspname, e.extversion FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname <> 'plpgsql'"
    )
    return {str(name): (str(schema), str(version)) for name, schema, version in rows}


def test_an_extension_and_the_table_using_it_are_created_from_an_empty_database(pg: TestDB) -> None:
    prepared, _ = sync(pg, _models())
    assert not prepared.desired.unmanaged_declared, "CREATE EXTENSION is managed, not custom DDL"
    sql = [s.sql for s in prepared.plan.statements]
    create = next(i for i, s in enumerate(sql) if s.startswith("CREATE EXTENSION"))
    assert sql[create] == 'CREATE EXTENSION IF NOT EXISTS "citext" WITH SCHEMA "public" CASCADE'
    assert create < next(i for i, s in enumerate(sql) if s.startswith("CREATE TABLE"))
    assert _installed(pg)["citext"][0] == "public"
    pg.execute("INSERT INTO users (id, email) VALUES (1, 'A@x.org')")
    assert pg.execute("SELECT id FROM users WHERE email = 'a@X.ORG'") == [(1,)], "the column really is citext"
    assert rediff(pg, _models()) == []


def test_a_pinned_version_is_installed_and_updated_to_and_an_unpinned_one_is_left_alone(pg: TestDB) -> None:
    sync(pg, _models("CREATE EXTENSION IF NOT EXISTS citext VERSION '1.5'"))
    assert _installed(pg)["citext"] == ("public", "1.5")
    assert rediff(pg, _models()) == [], "no version declared: 1.5 is kept"
    pinned = _models("CREATE EXTENSION citext VERSION '1.6'")
    prepared, _ = sync(pg, pinned)
    assert [s.sql for s in prepared.plan.statements] == ["ALTER EXTENSION \"citext\" UPDATE TO '1.6'"]
    assert [h.kind for h in prepared.plan.hazards] == ["correctness"]
    assert _installed(pg)["citext"] == ("public", "1.6")
    assert rediff(pg, pinned) == []


def test_hand_made_extensions_are_left_alone_and_pruned_but_never_one_the_models_use(pg: TestDB) -> None:
    metadata = MetaData()  # uses citext without declaring it, as models written for a prepared database do
    Table("users", metadata, Column("id", Integer, primary_key=True), Column("email", CITEXT))
    create_all(pg, metadata, extensions=("citext", "hstore"))
    prepared = prepare(pg, metadata)
    assert prepared.plan.empty
    assert [(u.kind, u.name, u.note) for u in prepared.diff.unmanaged] == [("extension", "hstore", "version 1.8")]
    pruned, _ = sync(pg, metadata, prune=True)
    assert [s.sql for s in pruned.plan.statements] == ['DROP EXTENSION "hstore"']
    assert set(_installed(pg)) == {"citext"}
    assert rediff(pg, metadata, prune=True) == []


def test_a_prune_that_drops_every_user_of_an_extension_drops_it_in_the_same_plan(pg: TestDB) -> None:
    """A column of its type, a domain over it, a hand-made index on its operator class, a view over it: when
    the prune drops them all, the extension goes in the same plan (before, it took a second prune run)."""
    if not has_extensions(pg, ("pg_trgm",)):
        pytest.skip("the server has no pg_trgm extension")
    pg.execute(
        """
        CREATE EXTENSION citext; CREATE EXTENSION pg_trgm;
        CREATE DOMAIN email AS citext CHECK (VALUE LIKE '%@%');
        CREATE TABLE users (id int PRIMARY KEY, name text, email citext, contact email);
        CREATE TABLE old_users (id int PRIMARY KEY, email citext);
        CREATE INDEX ix_users_name_trgm ON users USING gin (name gin_trgm_ops);
        CREATE VIEW shouting AS SELECT upper(email::text)::citext AS loud FROM users;
        INSERT INTO users VALUES (1, 'ann', 'A@x', 'a@x');
        """
    )
    metadata = MetaData()
    Table("users", metadata, Column("id", Integer, primary_key=True, autoincrement=False), Column("name", Text))
    prepared = prepare(pg, metadata, prune=True)
    kinds = sorted(type(x).__name__ for x in prepared.diff.changes)
    assert kinds == [*["DropColumn"] * 2, "DropDomain", *["DropExtension"] * 2, "DropIndex", "DropTable", "DropView"]
    sync(pg, metadata, prune=True)
    assert set(_installed(pg)) == set(), "both extensions went in one run"
    assert pg.execute("SELECT id, name FROM users") == [(1, "ann")]
    assert rediff(pg, metadata, prune=True) == []


def test_an_extension_a_user_outside_the_comparison_uses_is_kept_and_one_freed_by_retyping_goes(pg: TestDB) -> None:
    """An excluded table keeps hstore; citext's only user, a column the models retype (under a table and a
    column both renamed), frees it in the same plan: after the plan runs nothing uses it, and a plan that
    kept it would not match the models (apply's own check would roll it back)."""
    pg.execute(
        """
        CREATE EXTENSION citext; CREATE EXTENSION hstore;
        CREATE TABLE people (id int PRIMARY KEY, mail citext);
        CREATE TABLE audit (id int PRIMARY KEY, attrs hstore);
        INSERT INTO people VALUES (1, 'A@x');
        """
    )
    metadata = MetaData()
    Table("users", metadata, Column("id", Integer, primary_key=True, autoincrement=False), Column("email", Text))
    hints = RenameHints(tables=(("public", "users", "people"),), columns=(("public", "users", "email", "mail"),))
    prepared, _ = sync(pg, metadata, hints=hints, prune=True, exclude_tables=("audit",))
    assert sorted(type(x).__name__ for x in prepared.diff.changes) == [
        "AlterColumnType",
        "DropExtension",
        "RenameColumn",
        "RenameConstraint",
        "RenameTable",
    ]
    assert set(_installed(pg)) == {"hstore"}, "the excluded table keeps hstore"
    assert pg.execute("SELECT id, email FROM users") == [(1, "A@x")]
    assert rediff(pg, metadata, prune=True, exclude_tables=("audit",)) == []


def test_an_extension_whose_name_needs_quoting_is_created_and_its_function_used(pg: TestDB) -> None:
    metadata = MetaData()
    event.listen(metadata, "before_create", DDL('create extension if not exists "uuid-ossp";'))
    Table("tokens", metadata, Column("id", UUID, primary_key=True, server_default=text("uuid_generate_v4()")))
    sync(pg, metadata)
    assert "uuid-ossp" in _installed(pg)
    assert pg.execute("INSERT INTO tokens DEFAULT VALUES RETURNING length(id::text)") == [(36,)]
    assert rediff(pg, metadata) == []


@pytest.fixture
def twin() -> Iterator[TestDB]:
    name = make_database()
    try:
        yield TestDB(name, url_for(name))
    finally:
        drop_database(name)


def test_sync_builds_what_create_all_builds_as_pg_dump_prints_it(pg: TestDB, twin: TestDB) -> None:
    create_all(twin, _models("CREATE EXTENSION IF NOT EXISTS citext VERSION '1.5'"))
    sync(pg, _models("CREATE EXTENSION IF NOT EXISTS citext VERSION '1.5'"))
    dumped = schema_dump(pg)
    assert "CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA public;" in dumped
    assert dumped == schema_dump(twin)
    assert _installed(pg) == _installed(twin)


def test_the_statement_is_read_as_postgresql_reads_it() -> None:
    assert parse_create("CREATE EXTENSION IF NOT EXISTS citext") == ("citext", None)
    assert parse_create('/* extension */ create extension "Odd""Name" with schema s version \'1.0\';') == (
        'Odd"Name',
        "1.0",
    )
    assert parse_create("CREATE EXTENSION Hstore SCHEMA x VERSION v1_8 CASCADE") == ("hstore", "v1_8")
    assert parse_create("CREATE TABLE extension (a int)") is None


CLI_MODELS = """
from sqlalchemy import DDL, Column, Integer, MetaData, Table, event
from sqlalchemy.dialects.postgresql import CITEXT

metadata = MetaData()
event.listen(metadata, "before_create", DDL("CREATE EXTENSION IF NOT EXISTS citext"))
Table("users", metadata, Column("id", Integer, primary_key=True), Column("email", CITEXT, nullable=False))
"""


def test_sync_from_an_empty_database_through_a_dev_database(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    """The CLI materialises the models in a dev database (not the target), where the extension is created too."""
    root: Path = cli.project
    (root / "pyproject.toml").write_text(
        '[project]\nname = "x"\nversion = "1.0.0"\n\n[tool.schemasync]\nmodels = "m:metadata"\n'
    )
    (root / "m.py").write_text(textwrap.dedent(CLI_MODELS))
    env = {"DATABASE_URL": pg.url}
    synced = cli("sync", "--yes", env=env)
    assert synced.code == 0, synced.stderr
    assert "citext" in _installed(pg)
    checked = cli("check", env=env)
    assert checked.code == 0, checked.stdout + checked.stderr


def _people(*, column: object = Text, index: str = "", function: str = "") -> MetaData:
    """Models that declare no extension: which ones they use is read off their DDL."""
    metadata = MetaData()
    people = Table("people", metadata, Column("id", Integer, primary_key=True), Column("name", column))
    if index == "lower":
        Index("ix_people_lower", func.lower(people.c.name))
    elif index == "trigram":
        Index("ix_people_trgm", people.c.name, postgresql_using="gin", postgresql_ops={"name": "gin_trgm_ops"})
    if function:
        event.listen(metadata, "after_create", DDL(function))
    return metadata


SHOUT = "CREATE OR REPLACE FUNCTION shout(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT upper(t) $$"
CLOSE = (
    "CREATE OR REPLACE FUNCTION close_to(a text, b text) RETURNS boolean LANGUAGE plpgsql AS $$ "
    "BEGIN RETURN similarity(a, b) > 0.5; END $$"
)


@pytest.mark.parametrize(
    ("models", "used"),
    [
        (lambda: _people(index="lower", function=SHOUT), set()),  # OR REPLACE is no call of citext's replace()
        (lambda: _people(column=CITEXT), {"citext"}),
        (lambda: _people(index="trigram"), {"pg_trgm"}),
        (lambda: _people(function=CLOSE), {"pg_trgm"}),
    ],
    ids=["or-replace-and-lower", "citext-column", "trigram-opclass", "similarity-call"],
)
def test_an_extension_counts_as_used_by_the_models_only_when_their_ddl_uses_one_of_its_objects(
    pg: TestDB, models: object, used: set[str]
) -> None:
    if not has_extensions(pg, ("pg_trgm",)):
        pytest.skip("the server has no pg_trgm")
    pg.execute("CREATE EXTENSION citext; CREATE EXTENSION pg_trgm")
    assert callable(models)
    prepared = prepare(pg, models())
    assert not prepared.desired.model_errors
    unmanaged = {u.name for u in prepared.diff.unmanaged if u.kind == "extension"}
    assert unmanaged == {"citext", "pg_trgm"} - used


def test_references_are_read_off_the_parse_tree_and_a_plpgsql_body_is_scanned() -> None:
    found = References.of(
        [
            "CREATE OR REPLACE FUNCTION __[SCHEMA__none].f(a text) RETURNS int LANGUAGE plpgsql AS $$ "
            "DECLARE x citext; BEGIN RETURN similarity(a, 'x')::int; END $$",
            'CREATE INDEX i ON __[SCHEMA_app].t USING gin (lower("Name") gin_trgm_ops)',
            'CREATE TABLE "s".t (a public.citext[], b int DEFAULT uuid_generate_v4(), "replace" text)',
        ]
    )
    assert {"similarity", "lower", "uuid_generate_v4"} <= found.functions
    assert "replace" not in found.functions
    assert {"citext", "int4"} <= found.types
    assert found.opclasses == {"gin_trgm_ops"}
    assert found.uses("function", "similarity") and not found.uses("type", "similarity")
