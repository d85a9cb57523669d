"""Helpers for the studio tests: a studio on a test database, sample schemas with hostile names."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from starlette.testclient import TestClient

from schemasync import db
from schemasync.config import load_settings
from schemasync.studio.app import create_app
from schemasync.studio.source import Source
from tests.conftest import TestDB

BASE_URL = "http://127.0.0.1:4983"
HOSTILE_TABLE = 'we"ird <script>alert(1)</script> ü'
HOSTILE_COLUMN = '<b>col"</b>'
HOSTILE_SCHEMA = "odd schema"
HOSTILE_VALUE = '<script>alert("x")</script> \' OR 1=1 -- ünïcödé ✓'


@dataclass
class Studio:
    client: TestClient
    source: Source

    def get(self, path: str, **params: object):  # type: ignore[no-untyped-def]
        return self.client.get(path, params={k: str(v) for k, v in params.items()})


def make_studio(url: str, project: Path, *, models: str | None = None, **environ: str) -> Studio:
    """The studio app for `url`, with the settings a user in `project` would have (no outside environment)."""
    flags = {"database_url": url, "project_dir": str(project), "app_version": "1.0.0"}
    if models:
        flags["models"] = models
    loaded = load_settings(flags, environ)
    source = Source(loaded, db.resolve(loaded.settings, dict(loaded.sources)))
    client = TestClient(create_app(source), base_url=BASE_URL, raise_server_exceptions=False)
    return Studio(client, source)


def write_models(project: Path, body: str) -> str:
    """A models module in the project directory; returns its `module:metadata` setting."""
    name = f"studio_models_{uuid.uuid4().hex[:8]}"
    (project / f"{name}.py").write_text("from sqlalchemy import *\nmetadata = MetaData()\n" + body, encoding="utf-8")
    return f"{name}:metadata"


def shop(pg: TestDB) -> None:
    """Customers, orders, products, order items, a self-referencing category tree, and hostile names."""
    pg.execute(
        """
        CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL UNIQUE, name text);
        COMMENT ON TABLE customers IS 'People who buy things';
        COMMENT ON COLUMN customers.email IS 'Login, unique';
        CREATE TABLE categories (id int PRIMARY KEY, parent_id int REFERENCES categories(id), title text);
        CREATE TABLE products (id int PRIMARY KEY, category_id int REFERENCES categories(id),
                               price numeric(10,2) NOT NULL DEFAULT 0 CHECK (price >= 0));
        CREATE TABLE orders (id bigserial PRIMARY KEY,
                             customer_id int NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
                             placed timestamptz NOT NULL DEFAULT now());
        CREATE INDEX orders_by_customer ON orders (customer_id, placed DESC);
        CREATE TABLE order_items (order_id bigint REFERENCES orders(id), product_id int REFERENCES products(id),
                                  quantity int NOT NULL, PRIMARY KEY (order_id, product_id));
        CREATE TABLE audit (at timestamptz, note text);
        INSERT INTO customers (email, name) VALUES ('a@example.com', 'Ann'), ('b@example.com', NULL);
        """
    )
    pg.execute(
        f'CREATE TABLE "{HOSTILE_TABLE.replace(chr(34), chr(34) * 2)}" '
        f'(id int PRIMARY KEY, "{HOSTILE_COLUMN.replace(chr(34), chr(34) * 2)}" text, '
        "customer_id int REFERENCES customers(id))"
    )
    pg.execute(
        f'INSERT INTO "{HOSTILE_TABLE.replace(chr(34), chr(34) * 2)}" VALUES (1, %s, 1), (2, NULL, 2)',
        (HOSTILE_VALUE,),
    )
    pg.execute(
        f'CREATE SCHEMA "{HOSTILE_SCHEMA}"; CREATE TABLE "{HOSTILE_SCHEMA}"."x/y?z&w" '
        "(id int PRIMARY KEY, customer_id int REFERENCES public.customers(id))"
    )
