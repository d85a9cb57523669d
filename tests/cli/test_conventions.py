"""The CLI as a user meets it: status, history, setup, config; errors without tracebacks or secrets."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from tests.conftest import TestDB
from tests.fixtures.pg import PasswordServer
from tests.history.test_versions import LEGACY_LAYOUTS

SECRET = "Pa55-Tr1cky@Secret"  # "@" must be percent-encoded in a URL; both forms must stay hidden
ENCODED = SECRET.replace("@", "%40")


def assert_clean(result, secret: str = SECRET) -> None:  # type: ignore[no-untyped-def]
    assert secret not in result.output and ENCODED not in result.output
    assert "Traceback" not in result.output


def test_setup_status_history_round(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": pg.url}
    (cli.project / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "1.6.0"\n')
    pg.execute("CREATE TABLE items (id serial PRIMARY KEY, name text UNIQUE)")
    pg.execute("CREATE TABLE orders (id serial PRIMARY KEY, item_id int REFERENCES items(id))")
    pg.execute("CREATE INDEX ON orders (item_id)")
    pg.execute("INSERT INTO items (name) SELECT 'item ' || g FROM generate_series(1, 25) g")

    before = cli("status", "--json", env=env)
    assert before.code == 0, before.output
    report = json.loads(before.stdout)
    assert report["schema_versions_table"] is False and report["database_version"] is None
    assert (report["tables"], report["rows"], report["foreign_keys"], report["indexes"]) == (2, 25, 1, 4)
    assert report["rows_exact"] is True and report["app_version"] == "1.6.0"

    first = cli("setup", env=env)
    assert first.code == 0 and "1.6.0" in first.stdout
    assert "Created the schema_versions table" in first.stderr
    again = cli("setup", env=env)
    assert again.code == 0 and "Nothing to do" in again.stdout
    assert pg.scalar("SELECT count(*) FROM schema_versions") == 1

    after = json.loads(cli("status", "--json", env=env).stdout)
    assert after["database_version"] == "1.6.0" and after["version_state"] == "in step"
    assert after["tables"] == 2  # schema_versions is ours, not counted as an app table

    human = cli("status", env=env)
    assert human.code == 0 and "in step" in human.stdout and "Tables" in human.stdout

    history = cli("history", "--json", env=env)
    rows = json.loads(history.stdout)
    assert [(r["schema_version"], r["status"], r["environment"]) for r in rows] == [("1.6.0", "initial", "development")]

    wide = cli("history", env=env)  # a table where the terminal has room for one
    assert wide.code == 0 and "┃ id ┃ version ┃ status" in wide.stdout and "1.6.0" in wide.stdout
    narrow = cli("history", env={**env, "COLUMNS": "80"})  # else a line per version, its description whole
    assert narrow.code == 0 and "┃" not in narrow.stdout
    [line, description] = narrow.stdout.splitlines()
    assert line.startswith("#1 1.6.0 initial  ") and "development" in line
    assert description.strip() == pg.scalar("SELECT description FROM schema_versions")


@pytest.mark.parametrize("layout", sorted(LEGACY_LAYOUTS))
def test_setup_command_on_older_layouts_keeps_rows_and_is_idempotent(cli, pg: TestDB, layout: str) -> None:  # type: ignore[no-untyped-def]
    create, insert = LEGACY_LAYOUTS[layout]
    pg.execute(create)
    pg.execute(insert)
    old_columns = [
        c
        for (c,) in pg.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'schema_versions' ORDER BY ordinal_position"
        )
    ]
    old_rows = pg.execute(f"SELECT {', '.join(old_columns)} FROM schema_versions ORDER BY 1")
    env = {"DATABASE_URL": pg.url}

    first = cli("setup", "--app-version", "9.0.0", env=env)
    assert first.code == 0, first.output
    assert "Adapted an older schema_versions layout" in first.output and "back-filled" in first.output
    assert_clean(first)
    assert pg.execute(f"SELECT {', '.join(old_columns)} FROM schema_versions ORDER BY 1") == old_rows
    assert pg.scalar("SELECT count(*) FROM schema_versions WHERE schema_version IS NULL OR applied_at IS NULL") == 0
    after = pg.execute("SELECT * FROM schema_versions ORDER BY id")
    assert len(after) == len(old_rows)

    second = cli("setup", "--app-version", "9.0.0", env=env)
    assert second.code == 0 and "Nothing to do" in second.stdout, second.output
    assert pg.execute("SELECT * FROM schema_versions ORDER BY id") == after


def test_downgrade_refused_by_setup(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": pg.url}
    assert cli("setup", "--app-version", "2.0.0", env=env).code == 0
    pg.execute("DELETE FROM schema_versions")
    pg.execute("INSERT INTO schema_versions (schema_version, status) VALUES ('2.0.0', 'applied')")
    refused = cli("setup", "--app-version", "1.9.0", env=env)
    assert refused.code == 3
    assert "ahead of the app" in refused.stderr and "--allow-downgrade" in refused.stderr
    assert "Traceback" not in refused.output


def test_config_shows_sources_and_masks_secrets(cli) -> None:  # type: ignore[no-untyped-def]
    (cli.project / "pyproject.toml").write_text(
        '[project]\nversion = "1.0"\n[tool.schemasync]\ns3-bucket = "backups-bucket"\n'
    )
    env = {"DATABASE_URL": f"postgresql://app:{ENCODED}@db.internal/shop", "PROD_DB_PASS": "prod-Pass-Word"}
    result = cli("config", "--json", env=env)
    assert result.code == 0
    settings = json.loads(result.stdout)
    assert settings["s3_bucket"] == {"value": "backups-bucket", "source": "pyproject.toml [tool.schemasync]"}
    assert settings["database_url"] == {
        "value": "postgresql://app:***@db.internal/shop",
        "source": "environment DATABASE_URL",
    }
    assert settings["prod_db_pass"]["value"] == "***"
    for output in (result, cli("config", env=env)):
        assert_clean(output)
        assert "prod-Pass-Word" not in output.output


def test_wrong_port_wrong_password_missing_database_never_print_the_password(cli, password_pg: PasswordServer) -> None:  # type: ignore[no-untyped-def]
    cases = {
        "wrong port": (f"postgresql://postgres:{ENCODED}@127.0.0.1:1/postgres", "Nothing is accepting connections"),
        "wrong password": (password_pg.url("postgres", password=ENCODED), "Authentication failed"),
        "missing database": (
            f"postgresql://postgres:{password_pg.password}@127.0.0.1:{password_pg.port}/no_such_db",
            "does not exist",
        ),
    }
    for name, (url, expected) in cases.items():
        for command in ("status", "setup", "history"):
            result = (
                cli(command, "--app-version", "1.0", env={"DATABASE_URL": url})
                if command == "setup"
                else cli(command, "--database-url", url)
            )
            assert result.code == 1, (name, command, result.output)
            assert expected in result.stderr, (name, command, result.stderr)
            assert_clean(result)
            assert password_pg.password not in result.output
            assert len(result.stderr.strip().splitlines()) <= 3, result.stderr  # one paragraph, not a dump


def test_right_password_works(cli, password_pg: PasswordServer) -> None:  # type: ignore[no-untyped-def]
    result = cli("status", "--json", "--database-url", password_pg.url())
    assert result.code == 0, result.output
    assert password_pg.password not in result.output


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers: an unreachable database, quickly."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_unreachable_host_fails_within_seconds(cli, silent_server: int) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    result = cli(
        "status",
        "--database-url",
        f"postgresql://u:{ENCODED}@127.0.0.1:{silent_server}/db",
        env={"SCHEMASYNC_CONNECT_TIMEOUT": "2"},
    )
    elapsed = time.monotonic() - started
    assert result.code == 1 and "Timed out connecting" in result.stderr
    assert elapsed < 15, elapsed  # a generous bound against a hang, not a speed target
    assert_clean(result)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("mysql://root:pw@localhost/db", "PostgreSQL only"),
        (f"postgresql://u:{ENCODED}@host:notaport/db", "cannot be parsed"),
        ("just-some-text", "not a URL"),
    ],
)
def test_malformed_urls_are_clear(cli, url: str, fragment: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("status", "--database-url", url)
    assert result.code == 1 and fragment in result.stderr
    assert_clean(result)


def test_usage_errors_exit_64(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("status", "--no-such-flag")
    assert result.code == 64 and "No such option" in result.stderr


def test_permission_denied_is_explained(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    role = f"ss_noconnect_{pg.name[-8:]}"
    pg.execute(f"CREATE ROLE {role} LOGIN")
    try:
        pg.execute(f'REVOKE CONNECT ON DATABASE "{pg.name}" FROM PUBLIC')
        result = cli("status", "--database-url", pg.url.replace("postgres@", f"{role}@"))
        assert result.code == 1 and "may not connect" in result.stderr, result.stderr
    finally:
        pg.execute(f'GRANT CONNECT ON DATABASE "{pg.name}" TO PUBLIC')
        pg.execute(f"DROP ROLE {role}")


def test_transient_connection_failures_are_retried(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    """A role at its connection limit is a transient failure: retried with backoff, then it succeeds."""
    role = f"ss_limited_{pg.name[-8:]}"
    pg.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 1")
    blocker = pg.connect(user=role)  # takes the only slot
    url = pg.url.replace("postgres@", f"{role}@")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCHEMASYNC_", "DATABASE_URL"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "schemasync", "status", "--json", "--debug", "--database-url", url],
        cwd=cli.project,
        env={**env, "NO_COLOR": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()  # the first failed attempt, logged under --debug
        assert "too many connections" in first, first
        blocker.close()  # a slot frees up while the command backs off
        stdout, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 0, stderr
        assert json.loads(stdout)["database_name"] == pg.name
    finally:
        proc.kill()
        blocker.close()
        pg.execute(f"DROP ROLE {role}")


def test_transient_failures_give_up_with_a_clear_message(cli, pg: TestDB) -> None:  # type: ignore[no-untyped-def]
    role = f"ss_zero_{pg.name[-8:]}"
    pg.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0")
    try:
        result = cli("status", "--database-url", pg.url.replace("postgres@", f"{role}@"))
        assert result.code == 1 and "no free connection slots" in result.stderr
        assert "Traceback" not in result.output
    finally:
        pg.execute(f"DROP ROLE {role}")
