"""What the studio must never do: write, leak a secret, show a traceback, answer a stranger's Host."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from starlette.testclient import TestClient

from schemasync.history import versions
from schemasync.schema.inspect import inspect
from schemasync.studio.app import Guard, allowed_hosts, host_allowed, make_templates
from schemasync.studio.source import ReadFailed
from tests.conftest import TestDB
from tests.fixtures.net import free_port
from tests.fixtures.pg import PasswordServer
from tests.studio.helpers import BASE_URL, HOSTILE_TABLE, Studio, make_studio, shop, write_models

PAGES = ("/", "/tables", "/relationships", "/drift", "/history", "/backups")


def test_sessions_are_read_only_with_timeouts(shop_studio: Studio) -> None:
    with shop_studio.source.read_only() as conn:
        assert conn.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
        assert conn.execute("SHOW statement_timeout").fetchone() == ("10s",)
        assert conn.execute("SHOW lock_timeout").fetchone() == ("1s",)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("CREATE TABLE intruder (id int)")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("SELECT nextval('customers_id_seq')")


def database_state(pg: TestDB) -> dict[str, Any]:
    """Everything a write would change, in every schema: each relation (a rewrite changes its file), type,
    function and constraint, each sequence's position, and a hash of every table's row versions (hostile names too)."""
    user = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp%'"
    with pg.connect() as conn:
        state: dict[str, Any] = {
            "namespaces": conn.execute(f"SELECT n.nspname FROM pg_namespace n WHERE {user} ORDER BY 1").fetchall(),
            "relations": conn.execute(
                f"""SELECT n.nspname, c.relname, c.relkind, c.oid::int, c.relfilenode::int FROM pg_class c
                    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {user} ORDER BY 1, 2"""
            ).fetchall(),
            "types": conn.execute(
                f"SELECT n.nspname, t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {user} ORDER BY 1, 2"
            ).fetchall(),
            "functions": conn.execute(
                f"SELECT n.nspname, p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {user} ORDER BY 1, 2"
            ).fetchall(),
            "constraints": conn.execute(
                f"""SELECT n.nspname, c.conname, pg_get_constraintdef(c.oid), c.convalidated FROM pg_constraint c
                    JOIN pg_namespace n ON n.oid = c.connamespace WHERE {user} ORDER BY 1, 2"""
            ).fetchall(),
            "sequences": conn.execute(
                "SELECT schemaname, sequencename, last_value FROM pg_sequences ORDER BY 1, 2"
            ).fetchall(),
        }
        tables = conn.execute(
            f"""SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r', 'p') AND {user} ORDER BY 1, 2"""
        ).fetchall()
        for schema, name in tables:
            query = sql.SQL(  # row versions too (ctid, xmin): an UPDATE writing the same values is still a write
                "SELECT count(*), md5(coalesce(string_agg(concat_ws(' ', t.ctid, t.xmin, t), E'\\n' ORDER BY t.ctid), '')) FROM {} t"
            )
            state[f"rows {schema}.{name}"] = conn.execute(query.format(sql.Identifier(schema, name))).fetchone()
    return state


def test_browsing_every_page_changes_nothing(pg: TestDB, project: Path) -> None:
    shop(pg)
    models = write_models(
        project,
        'Table("customers", metadata, Column("id", Integer, primary_key=True), Column("email", Text, nullable=False),'
        ' Column("phone", Text))\nTable("invoices", metadata, Column("id", Integer, primary_key=True))\n',
    )
    studio = make_studio(pg.url, project, models=models)
    before = database_state(pg)
    assert f"rows public.{HOSTILE_TABLE}" in before and len(before["sequences"]) == 2  # the state covers them
    with pg.connect() as conn:
        schema_before = inspect(conn)
    for path in PAGES:
        assert studio.get(path).status_code == 200, path
    for name in ("customers", "orders", HOSTILE_TABLE):
        assert studio.get("/table", name=name, sort="id", desc=1).status_code == 200
    assert studio.get("/relationships", table="customers", depth=2).status_code == 200
    assert "phone" in studio.get("/drift").text  # the models were materialised: the plan adds the column
    after = database_state(pg)
    assert after == before
    assert not any(name in ("schema_versions", "schema_snapshots") for _, name, *_ in after["relations"])
    with pg.connect() as conn:
        assert inspect(conn) == schema_before
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'ss_scratch%'").fetchone() == (0,)


def test_a_held_lock_is_a_clear_busy_page(shop_studio: Studio, pg: TestDB) -> None:
    with psycopg.connect(pg.url) as holder:  # a transaction holding the lock, as a migration would
        holder.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
        page = shop_studio.get("/table", name="orders")
        holder.rollback()
    assert page.status_code == 503
    assert "Database busy" in page.text and "holds a lock" in page.text
    assert "Traceback" not in page.text


def test_a_read_over_the_statement_timeout_is_a_clear_busy_page(pg: TestDB, project: Path) -> None:
    pg.execute("CREATE TABLE big (id int PRIMARY KEY, v text)")
    pg.execute("INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 200000) g")
    studio = make_studio(pg.url, project, SCHEMASYNC_STATEMENT_TIMEOUT="20ms")
    with studio.source.read_only() as conn:
        assert conn.execute("SHOW statement_timeout").fetchone() == ("20ms",)  # the configured one, below 10 s
    page = studio.get("/table", name="big", sort="v", page=3000)  # sorting 200k rows on a column without index
    assert page.status_code == 503
    assert "Database busy" in page.text and "statement timeout (20 ms)" in page.text
    assert "sort by the primary key" in page.text and "Traceback" not in page.text


def test_a_table_the_user_may_not_read_is_a_permission_page(pg: TestDB, project: Path) -> None:
    pg.execute("CREATE TABLE open_data (id int PRIMARY KEY); CREATE TABLE payroll (id int PRIMARY KEY, salary int)")
    role = f"ss_reader_{pg.name[-8:]}"
    pg.execute(f"CREATE ROLE {role} LOGIN")
    try:
        pg.execute(f"GRANT SELECT ON open_data TO {role}")
        studio = make_studio(pg.url.replace("postgres@", f"{role}@"), project)
        assert studio.get("/table", name="open_data").status_code == 200
        overview = studio.get("/")  # rows it may not count are the planner's estimate, not a refusal
        assert overview.status_code == 200 and "planner estimate for 1 others" in overview.text, overview.text
        page = studio.get("/table", name="payroll")  # the structure (from the catalogs), with the data refused
        assert page.status_code == 200
        assert '<h1 class="table-title">payroll</h1>' in page.text and "salary" in page.text
        denied = page.text[page.text.index('id="rows-denied"') :]
        assert "permission denied for table payroll" in denied and "Grant this user SELECT" in denied
        assert 'id="rows"' not in page.text
        with pg.connect() as conn, conn.transaction():
            versions.ensure_table(conn, announce=False)
        history = studio.get("/history")  # a page that is nothing but rows it may not read
        assert history.status_code == 403 and "Database unavailable" not in history.text
        assert "Permission denied" in history.text and "permission denied for table schema_versions" in history.text
        studio.client.close()
    finally:
        pg.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")


def test_a_failed_read_is_not_called_unavailable(shop_studio: Studio) -> None:
    table = shop_studio.source.table(shop_studio.source.schema(), ("public", "customers"))
    with pytest.raises(ReadFailed) as failed, shop_studio.source.read_only() as conn:
        conn.execute("SELECT 1/0")
    assert "division by zero" in failed.value.message
    assert shop_studio.source.rows(table).total == 2  # the next read is unaffected


def test_unreachable_database_is_a_clear_page_on_every_database_page(project: Path) -> None:
    studio = make_studio(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere", project)
    for path in ("/", "/tables", "/table?name=x", "/relationships", "/history"):
        page = studio.client.get(path)
        assert page.status_code == 503, path
        assert "Nothing is accepting connections" in page.text
        assert "Check that PostgreSQL is running" in page.text
        assert "Traceback" not in page.text and "psycopg" not in page.text
    assert studio.get("/backups").status_code == 200  # backups do not need the database


def test_models_that_fail_to_import_are_a_clear_page(shop_studio: Studio, project: Path, pg: TestDB) -> None:
    (project / "broken_models.py").write_text("import sqlalchemy\nraise RuntimeError('models exploded')\n")
    studio = make_studio(pg.url, project, models="broken_models:metadata")
    page = studio.get("/drift")
    assert page.status_code == 500
    assert "Importing the models module &#39;broken_models&#39; failed" in page.text or "broken_models" in page.text
    assert "RuntimeError: models exploded" in page.text and "Traceback" not in page.text
    overview = studio.get("/")
    assert overview.status_code == 200
    assert "models could not be read" in overview.text and "models exploded" in overview.text


def test_secrets_never_reach_pages_or_logs(
    password_pg: PasswordServer, project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = password_pg.password
    name = "sstest_studio_secret"
    with psycopg.connect(password_pg.url(), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    try:
        url = password_pg.url(name)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE settings (key text PRIMARY KEY, value text)")
            conn.execute(
                "INSERT INTO settings VALUES ('dsn', %s), ('password', %s)",
                (f"postgresql://app:{secret}@db.internal/prod", secret),
            )
        studio = make_studio(url, project)
        caplog.set_level(logging.DEBUG, logger="schemasync")
        seen = []
        for path, params in [(p, {}) for p in PAGES] + [
            ("/table", {"name": "settings"}),
            ("/tables", {"q": secret}),
            ("/table", {"name": secret}),
            ("/relationships", {"table": secret}),
        ]:
            page = studio.get(path, **params)
            assert page.status_code in (200, 404), path
            seen.append(page.text)
        text = "\n".join(seen)
        assert secret not in text
        assert f"postgres@127.0.0.1:{password_pg.port}/{name}" in text  # the database, without its password
        assert "postgresql://app:***@db.internal/prod" in text  # data holding the secret is masked too
        assert secret not in caplog.text
        assert "/tables?q=***" in caplog.text  # the request log line, scrubbed
    finally:
        with psycopg.connect(password_pg.url(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_only_the_served_host_is_answered(shop_studio: Studio) -> None:
    for host, status in (
        ("evil.example", 421),
        ("evil.example:4983", 421),
        ("127.0.0.1.evil.example", 421),
        ("localhost:4983", 200),
        ("127.0.0.1", 200),
        ("[::1]:4983", 200),
    ):
        assert shop_studio.client.get("/history", headers={"host": host}).status_code == status, host
    assert host_allowed("studio.lan:80", allowed_hosts("studio.lan") or ())
    assert allowed_hosts("0.0.0.0") is None  # an explicit wildcard bind: any name this machine has


def test_security_headers_on_pages_and_errors(shop_studio: Studio) -> None:
    for path in ("/", "/nowhere", "/static/studio.css"):
        response = shop_studio.client.get(path)
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
    page = shop_studio.get("/").text
    assert not re.search(r"<script>|<style>|\sstyle=|\son[a-z]+=", page)  # nothing inline for the CSP to block


def test_an_unexpected_error_is_a_page_and_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(scope, receive, send):  # type: ignore[no-untyped-def]
        raise ZeroDivisionError("division by zero in a page")

    app = Guard(broken, hosts=allowed_hosts("127.0.0.1"), templates=make_templates())
    caplog.set_level(logging.INFO, logger="schemasync")
    response = TestClient(app, base_url=BASE_URL).get("/somewhere")
    assert response.status_code == 500
    assert "Unexpected ZeroDivisionError: division by zero in a page" in response.text
    assert "Traceback" not in response.text and "Traceback" not in caplog.text
    assert "unexpected ZeroDivisionError while serving /somewhere" in caplog.text
