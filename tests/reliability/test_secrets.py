"""No secret in any output channel (issue 9, security): a recognisable database password and AWS secret key
are set, every command family runs, and every place text ends up is searched for them.

The database is on the private server that demands passwords, so the password is really used (by psycopg,
pg_dump, pg_restore, the production flow); the S3 endpoint is moto. Searched: stdout and stderr of every
command (with --debug where it adds the engine's debug log, and a traceback), Prefect's logs, states and
artifacts of the production run read back from the API, every file in the project (manifests, summaries,
caches, persisted results), every object in the bucket, every schema_versions and schema_snapshots row, and
every studio page. Along the way: local backups are private files, and S3 objects carry SSE.
"""

from __future__ import annotations

import gzip
import json
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.fixtures.pg import PasswordServer
from tests.fixtures.s3 import CREDENTIALS, S3Server
from tests.production.helpers import everything_stored
from tests.studio.server import studio_process

pytestmark = [pytest.mark.reliability, pytest.mark.prefect, pytest.mark.s3, pytest.mark.slow]

AWS_SECRET = "aws-S3cret-K3y-Zq8Wx7Recognisable"
WRONG = "Wr0ng-Pa55-Recognisable"
MODELS = """
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, Text

metadata = MetaData()
Table("customers", metadata, Column("id", Integer, primary_key=True), Column("name", String(100)))
Table("orders", metadata, Column("id", Integer, primary_key=True),
      Column("customer_id", Integer, ForeignKey("customers.id")), Column("note", Text))
"""


@pytest.fixture
def private_db(password_pg: PasswordServer) -> Iterator[str]:
    """A fresh database on the password-protected server; its URL carries the password."""
    name = f"sstest_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(password_pg.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    try:
        yield password_pg.url(name)
    finally:
        with psycopg.connect(password_pg.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def test_no_secret_reaches_any_output(  # type: ignore[no-untyped-def]
    cli, private_db: str, password_pg: PasswordServer, s3_server: S3Server, s3_bucket: str, prefect_api
) -> None:
    password = password_pg.password
    secrets = (password, AWS_SECRET, WRONG)
    project: Path = cli.project
    (project / "pyproject.toml").write_text(
        '[project]\nname = "shop"\nversion = "1.0.0"\n\n[tool.schemasync]\nmodels = "shopmodels:metadata"\n'
    )
    (project / "shopmodels.py").write_text(MODELS)
    env = {
        **s3_server.env(s3_bucket),
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
        "DATABASE_URL": private_db,
        "PROD_DATABASE_URL": private_db,
        **prefect_api.client_env(),
    }
    assert env["AWS_ACCESS_KEY_ID"] == CREDENTIALS["AWS_ACCESS_KEY_ID"]
    said: list[str] = []

    def run(*args: str, code: int = 0) -> str:
        result = cli(*args, env=env)
        assert result.code == code, (args, result.output)
        said.append(result.output)
        return result.stdout

    run("config")
    run("status", "--debug")
    run("check", code=2)
    run("diff", "--sql")
    run("sync", "--yes", "--debug")
    run("history", "--json")
    backup = json.loads(run("backup", "--json", "--debug"))
    run("backups", "list", "--json")
    run("backups", "verify", backup["id"])
    run("restore", backup["id"], "--yes", "--debug")
    run("drift", "--json")
    wrong = private_db.replace(password, WRONG)
    error = cli("status", "--debug", "--database-url", wrong, env=env)  # an error with its traceback
    assert error.code == 1 and "Authentication failed" in error.stderr and "Traceback" in error.stderr
    said.append(error.output)

    # The production workflow, through Prefect: plan, backup to S3, pre-approved apply, summary.
    (project / "pyproject.toml").write_text((project / "pyproject.toml").read_text().replace("1.0.0", "1.1.0"))
    (project / "shopmodels.py").write_text(MODELS.replace("String(100)))", 'String(100)), Column("email", Text))'))
    run("production", "--approve", "--env", "production", "--debug", "--comment", f"note {password}")
    run("runs")

    with studio_process(project, env=env) as studio:
        for page in (
            "/",
            "/tables",
            "/table?schema=public&name=orders",
            "/relationships",
            "/drift",
            "/history",
            "/backups",
        ):
            with urllib.request.urlopen(studio.url + page, timeout=30) as response:
                said.append(response.read().decode())
        said.append(studio.stderr())

    with psycopg.connect(private_db) as conn:
        rows = conn.execute("SELECT t::text FROM schema_versions t ORDER BY id").fetchall()
        snapshots = conn.execute("SELECT snapshot FROM schema_snapshots ORDER BY id").fetchall()
        run_id = conn.execute("SELECT run_id FROM schema_versions WHERE run_id IS NOT NULL").fetchone()
    statuses = [r[0] for r in rows]
    assert any(",applied," in s for s in statuses) and any(",restore," in s for s in statuses)
    assert run_id is not None, "the production run recorded its run id"
    stored = everything_stored(run_id[0])
    assert "note ***" in stored or "pre-approved" in stored, "the production run's log and artifacts were read"

    files = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    assert any(p.name.endswith(".manifest.json") for p in files) and any(p.name.startswith("deploy-") for p in files)
    client = s3_server.client()
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket).get("Contents", [])]
    assert any(k.endswith(".manifest.json") for k in keys)
    objects = {k: client.get_object(Bucket=s3_bucket, Key=k)["Body"].read() for k in keys}

    for secret in secrets:
        for text in said:
            assert secret not in text, text[-2000:]
        assert secret not in stored
        for row in statuses:
            assert secret not in row
        for (blob,) in snapshots:
            assert secret.encode() not in gzip.decompress(blob)
        for path, data in files.items():
            assert secret.encode() not in data, path
        for key, data in objects.items():
            assert secret.encode() not in data, key

    # Private at rest: local backups and their directory are the owner's only; S3 copies are encrypted.
    backups = project / "backups"
    assert oct(backups.stat().st_mode & 0o777) == "0o700"
    for path in [*backups.glob("*.dump"), *backups.glob("*.manifest.json")]:
        assert oct(path.stat().st_mode & 0o777) == "0o600", path
    for key in keys:
        assert client.head_object(Bucket=s3_bucket, Key=key)["ServerSideEncryption"] == "AES256", key
