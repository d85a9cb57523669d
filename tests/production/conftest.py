"""A small app being deployed to a real database, with a real S3 bucket and a real Prefect server.

The database starts at the app's previous version (1.0.0: a `customers` table with rows, recorded in
schema_versions); the app is at 1.1.0, whose models add a column and a table. The production
database URL carries a password (the test server trusts every local connection, so any password
works), so every test can check that it never reaches Prefect, the logs, the artifacts or the files.
"""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from schemasync.workflows.preapproval import Terminal
from tests.conftest import TestDB
from tests.fixtures.s3 import CREDENTIALS, S3Server

SECRET = "Pr0d-Pa55-w0rd-xyz"

MODELS = textwrap.dedent(
    """
    from sqlalchemy import ForeignKey, String
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


    class Base(DeclarativeBase):
        pass


    class Customer(Base):
        __tablename__ = "customers"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(100))
        email: Mapped[str | None] = mapped_column(String(200))


    class Order(Base):
        __tablename__ = "orders"
        id: Mapped[int] = mapped_column(primary_key=True)
        customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    """
)


@dataclass
class App:
    """The project being deployed and where it goes."""

    project: Path
    pg: TestDB
    bucket: str
    s3: S3Server
    url: str

    @property
    def backups(self) -> Path:
        return self.project / "backups"

    def dumps(self) -> list[Path]:
        return sorted(self.backups.glob("*.dump")) if self.backups.exists() else []

    def summaries(self) -> list[Path]:
        return sorted(self.backups.glob("deploy-*.md")) if self.backups.exists() else []

    def s3_objects(self) -> dict[str, bytes]:
        client = self.s3.client()
        listed = client.list_objects_v2(Bucket=self.bucket).get("Contents", [])
        return {o["Key"]: client.get_object(Bucket=self.bucket, Key=o["Key"])["Body"].read() for o in listed}

    def columns(self, table: str) -> list[str]:
        rows = self.pg.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s "
            "ORDER BY ordinal_position",
            (table,),
        )
        return [str(r[0]) for r in rows]

    def versions(self) -> list[dict[str, Any]]:
        with self.pg.connect() as conn:
            cur = conn.execute(
                "SELECT id, schema_version, status, approved_by, notes, backup_uri, run_id, duration_ms, description "
                "FROM schema_versions ORDER BY id"
            )
            names = [d.name for d in cur.description or []]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def set_version(self, version: str) -> None:
        text = (self.project / "pyproject.toml").read_text()
        old = text.split('version = "', 1)[1].split('"', 1)[0]
        (self.project / "pyproject.toml").write_text(text.replace(f'version = "{old}"', f'version = "{version}"', 1))

    def options(self, **values: Any) -> Any:
        from schemasync.workflows.flows.production import ProductionOptions

        return ProductionOptions(project_dir=str(self.project), **values)

    def start(
        self,
        name: str | None = None,
        *,
        terminal: Terminal | None = None,
        **values: Any,
    ) -> tuple[str, Future[Any]]:
        """Run the production flow in a thread of this process; returns its run name and the final state.

        `terminal` runs it as `schemasync production` does, on behalf of the person at the terminal
        (`Terminal(user, approve=True)` is `--approve`); without it the run is like one created through
        the API, whose parameters approve nothing.
        """
        from schemasync.workflows.flows.production import production_deploy
        from schemasync.workflows.preapproval import at_terminal
        from tests.flows.helpers import in_thread

        name = name or f"deploy-{uuid.uuid4().hex[:10]}"
        flow = production_deploy.with_options(flow_run_name=name)
        options = self.options(**values)

        def run() -> Any:
            if terminal is None:
                return flow(options=options, return_state=True)
            with at_terminal(terminal):
                return flow(options=options, return_state=True)

        return name, in_thread(run)


def approved_by(user: str, *, comment: str = "", allow_destructive: bool = False) -> Terminal:
    """`schemasync production --approve` run by `user`."""
    return Terminal(user, approve=True, comment=comment, allow_destructive=allow_destructive)


def app_env(s3: S3Server, bucket: str, url: str, **extra: str) -> dict[str, str]:
    return {
        **s3.env(bucket),
        "PROD_DATABASE_URL": url,
        "SCHEMASYNC_APPROVAL_POLL_INTERVAL": "1",
        "SCHEMASYNC_APPROVAL_TIMEOUT": "90",
        "SCHEMASYNC_S3_MAX_ATTEMPTS": "1",
        "SCHEMASYNC_S3_UPLOAD_ATTEMPTS": "1",
        **extra,
    }


@pytest.fixture
def app(pg: TestDB, prefect_api, s3_server: S3Server, s3_bucket: str, tmp_path: Path, monkeypatch) -> Iterator[App]:  # type: ignore[no-untyped-def]
    project = tmp_path / "shop"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "shop"\nversion = "1.1.0"\n\n[tool.schemasync]\nmodels = "shopmodels:Base"\n'
    )
    (project / "shopmodels.py").write_text(MODELS)
    pg.execute("CREATE TABLE customers (id serial PRIMARY KEY, name varchar(100) NOT NULL)")
    pg.execute("INSERT INTO customers (name) SELECT 'customer ' || g FROM generate_series(1, 25) g")
    from schemasync.history import versions

    with pg.connect() as conn, conn.transaction():
        versions.ensure_table(conn, announce=False)
        versions.record(conn, versions.Record("1.0.0", versions.Status.INITIAL, "production"))
    url = pg.url.replace("postgres@", f"postgres:{SECRET}@")
    assert SECRET in url
    for key in [k for k in __import__("os").environ if k.startswith(("SCHEMASYNC_", "PROD_", "DATABASE_URL"))]:
        monkeypatch.delenv(key)
    for key, value in {**CREDENTIALS, **app_env(s3_server, s3_bucket, url)}.items():
        monkeypatch.setenv(key, value)
    yield App(project, pg, s3_bucket, s3_server, url)
