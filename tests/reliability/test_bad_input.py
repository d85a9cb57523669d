"""Bad and hostile input (issue 9): each a clear one-paragraph error, a non-zero exit, no traceback, and
nothing applied; and hostile names and texts that are valid, stored exactly as written.

Every case runs the CLI in a subprocess, as a user would, against a fresh database.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.backups.helpers import synthetic_backup
from tests.conftest import TestDB

pytestmark = pytest.mark.reliability

SECRET = "Hostile-Pa55-w0rd"
SIMPLE_MODELS = textwrap.dedent(
    """
    from sqlalchemy import Column, Integer, MetaData, Table, Text

    metadata = MetaData()
    Table("things", metadata, Column("id", Integer, primary_key=True), Column("label", Text))
    """
)


def one_paragraph_error(result) -> str:  # type: ignore[no-untyped-def]
    """The error, checked to be a single 'Error: ...' line with no traceback and no secret."""
    assert result.code != 0, result.output
    assert "Traceback" not in result.output and "Error: unexpected" not in result.output, result.output
    assert SECRET not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert result.stderr.rstrip().endswith(errors[0]), "the error is the last thing said, in one paragraph"
    return errors[0]


def untouched(pg: TestDB) -> None:
    assert pg.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'") == [], "something was applied"


def project(cli, models: str = SIMPLE_MODELS, version: str | None = "1.0.0", name: str = "appmodels") -> Path:  # type: ignore[no-untyped-def]
    root: Path = cli.project
    line = f'version = "{version}"\n' if version is not None else ""
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "app"\n{line}\n[tool.schemasync]\nmodels = "{name}:metadata"\n'
    )
    (root / f"{name}.py").write_text(models)
    return root


# -- database URLs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("", "is not a URL"),
        (f"postgresql://u:{SECRET}@127.0.0.1/db\nSELECT 1", "cannot be parsed: unexpected spaces"),
        (f"postgresql://u:{SECRET}@127.0.0.1/db?foo=bar", 'cannot be parsed: invalid URI query parameter: "foo"'),
        (f"postgresql://u:{SECRET}@[::1/db", "cannot be parsed: Invalid IPv6 URL"),
        (f"postgresql://u:{SECRET}%zz@127.0.0.1/db", "cannot be parsed: invalid percent-encoded token"),
        (f"postgresql://u%00x:{SECRET}@127.0.0.1/db", "cannot be parsed: forbidden value %00"),
        (f"postgresql://u:{SECRET}@127.0.0.1/db?sslmode=bogus", 'does not accept: invalid sslmode value: "bogus"'),
        (f"postgresql://u:{SECRET}@127.0.0.1:0/db", 'does not accept: invalid port number: "0"'),
        (
            f"postgresql://postgres:{SECRET}@127.0.0.1:5432/x';DROP%20DATABASE%20postgres;--",
            'The database "x\';DROP DATABASE postgres;--" does not exist',
        ),
    ],
    ids=["empty", "newline", "unknown-param", "bad-ipv6", "bad-percent", "nul", "bad-sslmode", "port-0", "injection"],
)
def test_malformed_and_hostile_urls(cli, url: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    project(cli)
    error = one_paragraph_error(cli("sync", "--yes", env={"DATABASE_URL": url}))
    assert expected in error, error


# -- models --------------------------------------------------------------------------------------

BAD_MODELS = {
    "import-fails": ("import nosuchmodule_xyz\n", "it imports 'nosuchmodule_xyz', which is not installed"),
    "syntax-error": ("def broken(:\n", "has a syntax error"),
    "raises": ("raise RuntimeError('boom at import')\n", "raised RuntimeError: boom at import"),
    "not-metadata": ("metadata = 42\n", "is of type int, not a SQLAlchemy MetaData or declarative base"),
    "no-attribute": ("x = 1\n", "has no attribute 'metadata'"),
    "index-without-opclass": (
        SIMPLE_MODELS + "from sqlalchemy import Index\nIndex('ix_things_id', metadata.tables['things'].c.id, "
        "postgresql_using='gin')\n",
        # a model error (issue 14.5): reported with the server's reason, and `sync --yes` applies nothing
        "1 declared object PostgreSQL cannot create as declared",
    ),
    "dangling-foreign-key": (
        SIMPLE_MODELS.replace(
            'Column("label", Text))', 'Column("label", Text), Column("o", Integer, ForeignKey("other.id")))'
        ).replace("import Column,", "import Column, ForeignKey,"),
        "could not find table 'other'",
    ),
    "truncation-collision": (
        SIMPLE_MODELS.replace(
            'Column("label", Text))', 'Column("é" * 32 + "a", Text), Column("é" * 32 + "b", Text))'
        ),  # 33 characters each, 65 bytes: both stored as 31 é (62 bytes)
        "which PostgreSQL would both store as '" + "é" * 31 + "'",
    ),
}


@pytest.mark.parametrize("case", list(BAD_MODELS))
def test_models_that_cannot_be_used(cli, pg: TestDB, case: str) -> None:  # type: ignore[no-untyped-def]
    source, expected = BAD_MODELS[case]
    project(cli, source)
    error = one_paragraph_error(cli("sync", "--yes", env={"DATABASE_URL": pg.url}))
    assert expected in error, error
    untouched(pg)


def test_a_models_setting_that_is_not_module_colon_attribute(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    project(cli)
    error = one_paragraph_error(cli("sync", "--yes", "--models", "bad models", env={"DATABASE_URL": pg.url}))
    assert "--models = 'bad models': use module:attribute" in error
    untouched(pg)


@pytest.mark.parametrize(
    ("name", "value"),
    [("SCHEMASYNC_HEALTH_CHECK_URL", "file:///etc/passwd"), ("SCHEMASYNC_S3_ENDPOINT_URL", "ftp://s3.example")],
)
def test_non_http_urls_in_settings_are_refused(cli, name: str, value: str) -> None:  # type: ignore[no-untyped-def]
    error = one_paragraph_error(cli("config", env={name: value}))
    assert f"{name} = '***': use an http:// or https:// URL" in error


# -- hostile names and texts, stored exactly ----------------------------------------------------

HOSTILE = textwrap.dedent(
    """
    from sqlalchemy import CheckConstraint, Column, Index, Integer, MetaData, String, Table, Text, text

    metadata = MetaData()
    t = Table(
        "select",  # a reserved word
        metadata,
        Column("id", Integer, primary_key=True),
        Column("Order", Integer, comment=COLUMN_COMMENT),  # mixed case, reserved
        Column('we"ird col', String(40), server_default=TEXT_DEFAULT),  # a quote and a space
        Column("naïve_ünïcode", Text, server_default=text(EXPR_DEFAULT)),
        CheckConstraint(CHECK, name="ck_select_order's"),
        comment=TABLE_COMMENT,
    )
    Index('ix select "weird"', t.c['we"ird col'])
    Table("user", metadata, Column("id", Integer, primary_key=True), Column("group", String(10)))
    Table("日本語テーブル", metadata, Column("列", Integer, primary_key=True))
    Table("ü" * 40, metadata, Column("id", Integer, primary_key=True))  # 80 bytes: truncated, no collision
    """
)
V1 = {
    "TABLE_COMMENT": "table comment with 'quotes', \"double\", a ; semicolon\nand a newline",
    "COLUMN_COMMENT": 'it\'s a "reserved"; DROP TABLE x; --',
    "TEXT_DEFAULT": "O'Brien; DROP TABLE users; --",
    "EXPR_DEFAULT": "'$$; DROP TABLE t; $$'",
    "CHECK": '"Order" >= 0 AND "we""ird col" <> \';--\'',
}
V2 = {  # the same table, every text changed: the ALTER / COMMENT paths quote too
    "TABLE_COMMENT": "now with a backslash \\ and E'\\\\x' and $tag$ dollar $tag$",
    "COLUMN_COMMENT": "'; COMMENT ON TABLE \"user\" IS 'pwned",
    "TEXT_DEFAULT": "it''s \\'; SELECT pg_sleep(10); --",
    "EXPR_DEFAULT": "'a' || chr(39) || 'b'",
    "CHECK": '"Order" < 1000 AND "we""ird col" NOT LIKE \'%;%\'',
}


def hostile_models(values: dict[str, str]) -> str:
    header = "".join(f"{name} = {value!r}\n" for name, value in values.items())
    return header + HOSTILE


def catalog(pg: TestDB) -> dict[str, object]:
    one = pg.scalar
    return {
        "tables": sorted(str(r[0]) for r in pg.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")),
        "columns": [
            str(r[0])
            for r in pg.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = '\"select\"'::regclass AND attnum > 0 ORDER BY attnum"
            )
        ],
        "table_comment": one("SELECT obj_description('\"select\"'::regclass, 'pg_class')"),
        "column_comment": one("SELECT col_description('\"select\"'::regclass, 2)"),
        "text_default": one(
            "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = '\"select\"'::regclass AND adnum = 3"
        ),
        "expr_default": one(
            "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = '\"select\"'::regclass AND adnum = 4"
        ),
        "check": one("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'ck_select_order''s'"),
        "index": one("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix select \"weird\"'"),
    }


def test_hostile_identifiers_and_texts_are_quoted_and_stored_exactly(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": pg.url}
    project(cli, hostile_models(V1))
    first = cli("sync", "--yes", env=env)
    assert first.code == 0, first.output
    assert "PostgreSQL keeps only the first 63 bytes of the table '" + "ü" * 40 + "'" in first.stderr
    found = catalog(pg)
    assert found["tables"] == sorted(
        ["select", "user", "日本語テーブル", "ü" * 31, "schema_versions", "schema_snapshots"]
    )
    assert found["columns"] == ["id", "Order", 'we"ird col', "naïve_ünïcode"]
    assert found["table_comment"] == V1["TABLE_COMMENT"] and found["column_comment"] == V1["COLUMN_COMMENT"]
    assert found["text_default"] == "'O''Brien; DROP TABLE users; --'::character varying"
    assert found["expr_default"] == "'$$; DROP TABLE t; $$'::text"
    assert found["check"] == 'CHECK ((("Order" >= 0) AND (("we""ird col")::text <> \';--\'::text)))'
    assert found["index"] == 'CREATE INDEX "ix select ""weird""" ON public."select" USING btree ("we""ird col")'
    assert cli("check", env=env).code == 0, "no false drift on any of these names"

    project(cli, hostile_models(V2), version="1.1.0")
    second = cli("sync", "--yes", env=env)
    assert second.code == 0, second.output
    found = catalog(pg)
    assert found["table_comment"] == V2["TABLE_COMMENT"] and found["column_comment"] == V2["COLUMN_COMMENT"]
    assert found["text_default"] == "'it''''s \\''; SELECT pg_sleep(10); --'::character varying"
    assert found["expr_default"] == "(('a'::text || chr(39)) || 'b'::text)"
    assert found["check"] == 'CHECK ((("Order" < 1000) AND (("we""ird col")::text !~~ \'%;%\'::text)))'
    assert pg.execute("SELECT schema_version, status FROM schema_versions ORDER BY id") == [
        ("1.0.0", "applied"),
        ("1.1.0", "applied"),
    ]
    assert cli("check", env=env).code == 0


# -- versions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("v1", None),  # PEP 440 reads it as 1; stored as written
        ("1.0.0-beta.2", None),  # semver pre-release, PEP 440's 1.0.0b2
        ("", "No app version is set (flag --app-version)"),
        (None, "No app version is set"),  # no flag, no [project].version, no package.json
        ("latest", "The version 'latest' from flag --app-version is not a version number"),
        ("1.0.0-rc.1+build.20261126", "is longer than 20 characters, the width of schema_versions columns"),
    ],
    ids=["v1", "semver-pre", "empty", "missing", "word", "too-long"],
)
def test_app_versions(cli, pg: TestDB, version: str | None, expected: str | None) -> None:  # type: ignore[no-untyped-def]
    project(cli, version=None)
    args = ["sync", "--yes"] + (["--app-version", version] if version is not None else [])
    result = cli(*args, env={"DATABASE_URL": pg.url})
    if expected is None:
        assert result.code == 0, result.output
        assert pg.execute("SELECT schema_version, status FROM schema_versions") == [(version, "applied")]
        return
    assert expected in one_paragraph_error(result)
    untouched(pg)


# -- restore -------------------------------------------------------------------------------------


def test_restore_of_something_that_is_not_a_backup_changes_nothing(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": pg.url}
    root = project(cli)
    pg.execute("CREATE TABLE precious (id int PRIMARY KEY)")
    pg.execute("INSERT INTO precious SELECT generate_series(1, 5)")
    (root / "notes.txt").write_text("not a backup\n")
    fake, manifest = synthetic_backup(root / "backups", 4096, database=pg.name)  # named right, checksum right

    cases = [
        ("/nonexistent/dir/shop-development-20260101T000000Z-v1.0.0.dump", "There is no file /nonexistent/dir/"),
        ("./notes.txt", "./notes.txt is not a schemasync backup file"),
        (manifest.id, "is not a readable pg_dump archive"),
        ("20990101T000000Z", "No backup matches '20990101T000000Z'"),
    ]
    for ref, expected in cases:
        error = one_paragraph_error(cli("restore", ref, "--yes", env=env))
        assert expected in error, (ref, error)
    assert pg.execute("SELECT count(*) FROM precious") == [(5,)]
    assert pg.scalar("SELECT to_regclass('public.schema_versions')") is None, "no restore was recorded"
    assert fake.exists()
