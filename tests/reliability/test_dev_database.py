"""A dev database (issue 16): the models are materialised elsewhere, so a look at the target needs only reads.

Roles are created with unique names and dropped afterwards; dev databases are `sstest_*` databases of
the test's own. The default choice is tested on this server, whose major version differs from the
embedded PostgreSQL's (skipped where they are equal: there the embedded server comes first).
"""

from __future__ import annotations

import contextlib
import re
import textwrap
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from schemasync.db import embedded
from schemasync.errors import ConfigError
from schemasync.schema import devdb
from tests.conftest import TestDB, drop_database, make_database, url_for
from tests.fixtures.net import free_port

pytestmark = pytest.mark.reliability

PASSWORD = "Dev-Pa55-w0rd"
MODELS = """
from sqlalchemy import Column, Integer, MetaData, Table, Text
{imports}
metadata = MetaData()
users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    {extra}
)
{tables}
"""
TARGET_SQL = "CREATE TABLE users (id integer PRIMARY KEY, name text NOT NULL {extra})"
CATALOGS = "('pg_class', 'pg_attribute', 'pg_namespace', 'pg_type', 'pg_constraint', 'pg_depend')"


def write_models(project: Path, *, imports: str = "", extra: str = "", tables: str = "") -> None:
    (project / "pyproject.toml").write_text(
        '[project]\nversion = "1.0.0"\n[tool.schemasync]\nmodels = "devapp:metadata"\n'
    )
    (project / "devapp.py").write_text(
        textwrap.dedent(MODELS).format(imports=imports, extra=extra, tables=textwrap.dedent(tables))
    )


@dataclass(frozen=True)
class Role:
    name: str
    target_url: str

    def url(self, dbname: str) -> str:
        return url_for(dbname).replace("postgres@", f"{self.name}:{PASSWORD}@")


@contextlib.contextmanager
def login_role(pg: TestDB, attributes: str, grants: list[str], dev: TestDB | None = None) -> Iterator[Role]:
    """A login role with only `grants` (formatted with {role} and {db}); dropped afterwards with its grants,
    and with what it created in the dev database (an extension)."""
    name = f"ss_dev_{uuid.uuid4().hex[:8]}"
    pg.execute(f"CREATE ROLE {name} LOGIN NOSUPERUSER NOCREATEROLE {attributes} PASSWORD '{PASSWORD}'")
    try:
        for grant in grants:
            pg.execute(grant.format(role=name, db=pg.name))
        yield Role(name, Role(name, "").url(pg.name))
    finally:
        if dev is not None:
            dev.execute(f"DROP OWNED BY {name}")
        pg.execute(f"DROP OWNED BY {name}")
        pg.execute(f"DROP ROLE {name}")


READ_ONLY = [
    "GRANT USAGE ON SCHEMA public TO {role}",
    "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
]


@pytest.fixture
def dev_database() -> Iterator[TestDB]:
    name = make_database("sstest_dev")
    try:
        yield TestDB(name, url_for(name))
    finally:
        drop_database(name)


@pytest.fixture
def reader(pg: TestDB, dev_database: TestDB) -> Iterator[Role]:
    """Only CONNECT (PUBLIC's), USAGE on public and SELECT on the target; CREATE on the dev database."""
    pg.execute(TARGET_SQL.format(extra=""))
    with login_role(
        pg, "NOCREATEDB", [*READ_ONLY, f"GRANT CREATE ON DATABASE {dev_database.name} TO {{role}}"]
    ) as role:
        yield role


def catalog_state(pg: TestDB) -> tuple[object, ...]:
    """The target's catalog: relation count, a digest of its definitions, and rows ever written to it."""
    pg.execute("SELECT pg_stat_clear_snapshot()")
    return tuple(
        pg.execute(
            f"""SELECT (SELECT count(*) FROM pg_class),
                       (SELECT md5(string_agg(c.oid::text || c.relname || c.relkind::text, ',' ORDER BY c.oid)) FROM pg_class c),
                       (SELECT sum(n_tup_ins + n_tup_upd + n_tup_del) FROM pg_stat_sys_tables WHERE relname IN {CATALOGS})"""
        )[0]
    )


def settled_catalog_state(pg: TestDB, before: tuple[object, ...]) -> tuple[object, ...]:
    """The catalog state once the CLI's backend has flushed its statistics (at exit, asynchronously)."""
    state = catalog_state(pg)
    deadline = time.monotonic() + 3
    while state == before and time.monotonic() < deadline:
        time.sleep(0.2)
        state = catalog_state(pg)
    return state


class Watcher:
    """A concurrent session polling the target for scratch schemas and DDL while a look runs."""

    def __init__(self, pg: TestDB, role: str) -> None:
        self.seen: list[str] = []
        self.polls = 0
        self._stop = threading.Event()
        self._pg, self._role = pg, role
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self._pg.connect() as conn:
            while not self._stop.is_set():
                for (found,) in conn.execute(
                    """SELECT nspname FROM pg_namespace WHERE nspname LIKE 'ss\\_scratch%%'
                       UNION ALL SELECT query FROM pg_stat_activity
                       WHERE datname = current_database() AND usename = %s AND query ~* '^\\s*(CREATE|ALTER|DROP)'""",
                    (self._role,),
                ).fetchall():
                    self.seen.append(found)
                self.polls += 1
                time.sleep(0.01)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def test_a_read_only_role_checks_and_diffs_with_a_dev_database(
    cli, pg: TestDB, dev_database: TestDB, reader: Role
) -> None:  # type: ignore[no-untyped-def]
    write_models(cli.project)
    env = {"DATABASE_URL": reader.target_url, "SCHEMASYNC_DEV_URL": reader.url(dev_database.name)}
    before = catalog_state(pg)
    with Watcher(pg, reader.name) as watcher:
        checked = cli("check", env=env)
    assert checked.code == 0, checked.output
    status = cli("status", env=env)
    assert status.code == 0, status.output
    assert f"the dev database {reader.name}@127.0.0.1:5432/{dev_database.name} (dev-url)" in status.stdout

    write_models(cli.project, tables='notes = Table("notes", metadata, Column("id", Integer, primary_key=True))')
    with Watcher(pg, reader.name) as watching_drift:
        drifted = cli("check", env=env)
        diff = cli("diff", env=env)
    assert drifted.code == 2, drifted.output
    assert diff.code == 0 and "Found 1 new table: notes" in diff.stdout, diff.output
    assert watcher.polls > 0 and watching_drift.polls > 0
    assert watcher.seen == [] and watching_drift.seen == []
    assert settled_catalog_state(pg, before) == before  # no row written to the target's catalog, not even rolled back
    assert PASSWORD not in checked.output + drifted.output + diff.output + status.output
    assert dev_database.scalar("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'ss\\_scratch%'") == 0


def test_the_extensions_the_models_use_are_created_in_the_dev_database(cli, pg: TestDB, dev_database: TestDB) -> None:  # type: ignore[no-untyped-def]
    pg.execute("CREATE EXTENSION citext; CREATE EXTENSION pg_trgm")
    pg.execute(TARGET_SQL.format(extra=", email citext"))
    write_models(
        cli.project, imports="from sqlalchemy.dialects.postgresql import CITEXT", extra='Column("email", CITEXT),'
    )
    with login_role(
        pg, "NOCREATEDB", [*READ_ONLY, f"GRANT CREATE ON DATABASE {dev_database.name} TO {{role}}"], dev_database
    ) as reader:
        result = cli(
            "check", env={"DATABASE_URL": reader.target_url, "SCHEMASYNC_DEV_URL": reader.url(dev_database.name)}
        )
        assert result.code == 0, result.output
        assert "Created extension citext" in result.stderr
        # what the models use, at the target's version; not the target's other extensions
        assert dev_database.execute("SELECT extname, extversion FROM pg_extension WHERE extname <> 'plpgsql'") == [
            ("citext", pg.scalar("SELECT extversion FROM pg_extension WHERE extname = 'citext'"))
        ]


def test_an_extension_the_dev_database_cannot_provide_is_a_clear_error(cli, pg: TestDB, dev_database: TestDB) -> None:  # type: ignore[no-untyped-def]
    # dblink is not a trusted extension: a role that is not a superuser cannot create it in the dev database
    pg.execute("CREATE EXTENSION dblink")
    pg.execute(TARGET_SQL.format(extra=", q text DEFAULT dblink_current_query()"))
    write_models(
        cli.project,
        imports="from sqlalchemy import text",
        extra='Column("q", Text, server_default=text("dblink_current_query()")),',
    )
    with login_role(
        pg, "NOCREATEDB", [*READ_ONLY, f"GRANT CREATE ON DATABASE {dev_database.name} TO {{role}}"], dev_database
    ) as reader:
        before = catalog_state(pg)
        result = cli(
            "check", env={"DATABASE_URL": reader.target_url, "SCHEMASYNC_DEV_URL": reader.url(dev_database.name)}
        )
        assert result.code == 1, result.output
        assert "The models use extension dblink, which could not be created in the dev database" in result.stderr
        assert "Traceback" not in result.output and PASSWORD not in result.output
        assert dev_database.scalar("SELECT count(*) FROM pg_extension WHERE extname = 'dblink'") == 0
        assert settled_catalog_state(pg, before) == before


def test_an_unreachable_dev_database_is_a_clear_error(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    pg.execute(TARGET_SQL.format(extra=""))
    write_models(cli.project)
    port = free_port()
    result = cli(
        "check",
        env={"DATABASE_URL": pg.url, "SCHEMASYNC_DEV_URL": f"postgresql://dev:{PASSWORD}@127.0.0.1:{port}/devdb"},
    )
    assert result.code == 1, result.output
    assert (
        f"The dev database dev@127.0.0.1:{port}/devdb the models are materialised in cannot be reached" in result.stderr
    )
    assert "Traceback" not in result.output and PASSWORD not in result.output


def test_a_dev_database_of_another_major_version_is_refused(cli, pg: TestDB, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    major = pg.scalar("SELECT current_setting('server_version_num')::int / 10000")
    if embedded.major_version() in (None, major):
        pytest.skip("needs the embedded PostgreSQL of another major version than the test server's")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver  # type: ignore[import-untyped]

        server = pgserver.get_server(tmp_path / "pg16", cleanup_mode="stop")
    try:
        pg.execute(TARGET_SQL.format(extra=""))
        write_models(cli.project)
        before = catalog_state(pg)
        result = cli("check", env={"DATABASE_URL": pg.url, "SCHEMASYNC_DEV_URL": str(server.get_uri())})
        assert result.code == 1, result.output
        assert re.search(
            rf"The dev database .* runs PostgreSQL {embedded.major_version()} but the target .* runs PostgreSQL {major}",
            result.stderr,
        ), result.stderr
        assert settled_catalog_state(pg, before) == before
    finally:
        server.cleanup()


def test_the_version_check_names_both_versions() -> None:
    devdb.check_version(15, 15, "dev@h:1/d", "app@h:2/t")
    with pytest.raises(ConfigError) as refused:
        devdb.check_version(16, 15, "dev@h:1/d", "app@h:2/t")
    assert "dev@h:1/d runs PostgreSQL 16 but the target app@h:2/t runs PostgreSQL 15" in refused.value.message


@pytest.fixture
def default_choice(pg: TestDB) -> TestDB:
    if embedded.major_version() == pg.scalar("SELECT current_setting('server_version_num')::int / 10000"):
        pytest.skip("the embedded PostgreSQL has this server's major version, so it is the default here")
    pg.execute(TARGET_SQL.format(extra=""))
    return pg


def test_default_a_temporary_database_when_the_role_may_create_databases(cli, default_choice: TestDB) -> None:  # type: ignore[no-untyped-def]
    pg = default_choice
    with login_role(pg, "CREATEDB", READ_ONLY) as role:
        write_models(cli.project)
        env = {"DATABASE_URL": role.target_url}
        before = catalog_state(pg)
        result = cli("check", "--debug", env=env)
        assert result.code == 0, result.output
        created = re.findall(r"created temporary dev database (ss_dev_\w+)", result.stderr)
        assert created and re.search(rf"dropped temporary dev database {created[0]}", result.stderr)
        assert pg.scalar("SELECT count(*) FROM pg_database WHERE datname = %s", (created[0],)) == 0
        assert settled_catalog_state(pg, before) == before
        assert "a temporary database on the target's server" in cli("status", env=env).stdout

        # dropped also when the look fails there: dblink cannot be created by this role
        pg.execute("CREATE EXTENSION dblink")
        write_models(
            cli.project,
            imports="from sqlalchemy import text",
            extra='Column("q", Text, server_default=text("dblink_current_query()")),',
        )
        failed = cli("check", "--debug", env=env)
        assert failed.code == 1 and "extension dblink" in failed.stderr, failed.output
        created = re.findall(r"created temporary dev database (ss_dev_\w+)", failed.stderr)
        assert created and pg.scalar("SELECT count(*) FROM pg_database WHERE datname = %s", (created[0],)) == 0


def test_default_scratch_schemas_in_the_target_when_the_role_may_only_create_there(cli, default_choice: TestDB) -> None:  # type: ignore[no-untyped-def]
    pg = default_choice
    with login_role(pg, "NOCREATEDB", [*READ_ONLY, "GRANT CREATE ON DATABASE {db} TO {role}"]) as role:
        write_models(cli.project)
        env = {"DATABASE_URL": role.target_url}
        before = catalog_state(pg)
        assert cli("check", env=env).code == 0
        assert settled_catalog_state(pg, before) != before  # the scratch schemas' rolled-back rows: today's way
        assert "rolled-back scratch schemas in the target" in cli("status", env=env).stdout


def test_default_an_error_naming_the_setting_when_nothing_may_be_created(cli, default_choice: TestDB) -> None:  # type: ignore[no-untyped-def]
    pg = default_choice
    with login_role(pg, "NOCREATEDB", READ_ONLY) as role:
        write_models(cli.project)
        result = cli("check", env={"DATABASE_URL": role.target_url})
        assert result.code == 1, result.output
        assert "No database is available to read the models' schema in" in result.stderr
        assert "SCHEMASYNC_DEV_URL" in result.stderr and "Traceback" not in result.output
        config = cli("config", env={"DATABASE_URL": role.target_url})
        assert "Models read in: no dev-url" in " ".join(config.stdout.split())


def test_a_fleet_materialises_the_models_once_per_server_major(tmp_path: Path, dev_database: TestDB) -> None:
    from schemasync import drift
    from schemasync.config import load_settings
    from tests.drift.helpers import MODELS_SPEC, _create_all, make_project

    project = make_project(tmp_path / "fleet")
    names = [make_database() for _ in range(3)]
    try:
        targets = [TestDB(n, url_for(n)) for n in names]
        for target in targets:
            _create_all(target)
        environ = {"SCHEMASYNC_DEV_URL": dev_database.url} | {f"FLEET_{i}": t.url for i, t in enumerate(targets)}
        fleet = drift.parse_targets(
            [
                {"name": f"db{i}", "url_env": f"FLEET_{i}", "models": MODELS_SPEC, "project_dir": str(project)}
                for i in range(3)
            ],
            origin="test",
        )
        results = drift.check_targets(fleet, environ=environ)
        assert [r.status for r in results] == [drift.DriftStatus.IN_SYNC] * 3, [r.error for r in results]
        settings = load_settings({"project_dir": project}, environ).settings
        assert len(list(drift.shared_cache_dir(settings).glob("desired-*.json"))) == 1
        assert not [p for p in (drift.shared_cache_dir(settings).parent).iterdir() if p.name != "shared"]
    finally:
        for name in names:
            drop_database(name)


def test_a_models_schema_on_the_targets_search_path_resolves_in_the_dev_database(
    cli, pg: TestDB, dev_database: TestDB
) -> None:  # type: ignore[no-untyped-def]
    """The target's search path is `app, public`, and a default names the `app.mood` enum unqualified.

    The dev database has no schema `app`, so PostgreSQL left it out of the search path the scratch copy
    was put on, and the default became a false model error ("type mood does not exist").
    """
    pg.execute("CREATE SCHEMA app")
    pg.execute("CREATE TYPE app.mood AS ENUM ('happy', 'sad')")
    pg.execute(f'ALTER DATABASE "{pg.name}" SET search_path = app, public')
    pg.execute("CREATE TABLE app.t (id integer PRIMARY KEY, m app.mood DEFAULT 'happy'::app.mood)")
    (cli.project / "pyproject.toml").write_text(
        '[project]\nversion = "1.0.0"\n[tool.schemasync]\nmodels = "moods:metadata"\n'
    )
    (cli.project / "moods.py").write_text(
        textwrap.dedent(
            """
            from sqlalchemy import Column, Integer, MetaData, Table, text
            from sqlalchemy.dialects.postgresql import ENUM

            metadata = MetaData(schema="app")
            mood = ENUM("happy", "sad", name="mood", schema="app", metadata=metadata)
            Table(
                "t", metadata,
                Column("id", Integer, primary_key=True, autoincrement=False),
                Column("m", mood, server_default=text("'happy'::mood")),
            )
            """
        )
    )
    result = cli("check", "--json", env={"DATABASE_URL": pg.url, "SCHEMASYNC_DEV_URL": dev_database.url})
    assert result.code == 0, result.output
    assert "Model error" not in result.output
    assert dev_database.scalar("SELECT count(*) FROM pg_namespace WHERE nspname = 'app'") == 0  # dropped again
