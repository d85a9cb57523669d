"""`introspect`: models from a database that check clean against the database they came from."""

from __future__ import annotations

import ast

from tests.conftest import EXAMPLES, TestDB
from tests.engine.sync_helpers import sync


def _example_metadata():  # type: ignore[no-untyped-def]
    from schemasync.schema.target import load_models

    return load_models("exampleapp.models:Base", EXAMPLES / "app")


def test_introspect_the_example_app_database_round_trips_clean(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    sync(pg, _example_metadata(), version="1.0.0")  # also writes schema_versions and schema_snapshots
    pg.execute(
        """
        CREATE TABLE labels (code integer PRIMARY KEY, title text COLLATE "C" NOT NULL,
                             tags text[] NOT NULL DEFAULT '{}', upper_title text GENERATED ALWAYS AS (upper(title)) STORED,
                             CONSTRAINT labels_code_positive CHECK (code > 0));
        COMMENT ON COLUMN labels.title IS 'shown to people';
        CREATE INDEX labels_tags_gin ON labels USING gin (tags);
        CREATE INDEX labels_title_lower ON labels (lower(title) DESC NULLS LAST) WHERE code > 10;
        CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
        CREATE VIEW "label's view" AS SELECT code, title || '%s $$ '' ' AS shown FROM labels WHERE code > 1;
        CREATE MATERIALIZED VIEW label_counts AS SELECT count(*) AS n FROM "label's view";
        CREATE UNIQUE INDEX label_counts_n ON label_counts (n);
        """
    )
    env = {"DATABASE_URL": pg.url}
    written = cli("introspect", "--output", "generated.py", env=env)
    assert written.code == 0, written.output
    source = (cli.project / "generated.py").read_text()
    ast.parse(source)
    assert "class Base(DeclarativeBase)" in source and "Mapped[" in source
    assert "class SchemaVersions" not in source and "schema_snapshots" not in source and "alembic_version" not in source
    assert "text('lower((email)::text)'), unique=True, postgresql_where=text('deleted_at IS NULL')" in source
    assert "Index('ix_audit_log_org_time', 'organisation_id', text('occurred_at DESC'))" in source
    assert "postgresql_using='gin'" in source and "autoincrement=False" in source
    assert source.index("CREATE VIEW") < source.index("CREATE MATERIALIZED VIEW") < source.index("label_counts_n")
    check = cli("check", "--models", "generated:Base", env=env)
    assert check.code == 0, check.output + source
    assert "In sync" in check.stdout

    printed = cli("introspect", "--table", "labels", env=env)
    assert printed.code == 0 and "class Labels" in printed.stdout and "class Users" not in printed.stdout


def test_introspect_bad_inputs(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": pg.url}
    empty = cli("introspect", env=env)
    assert empty.code == 1 and "There are no tables in public" in empty.stderr
    pg.execute("CREATE TABLE t (id int PRIMARY KEY)")
    missing = cli("introspect", "--table", "nope", env=env)
    assert missing.code == 1 and "There is no table public.nope" in missing.stderr
    for result in (empty, missing):
        assert "Traceback" not in result.output
