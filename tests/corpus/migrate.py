"""Build an app's schema with the app's own Alembic history, to head (run in the corpus environment).

Usage: python migrate.py APP URL, with URL a plain postgresql:// URL of an empty database. Each app is
migrated the way its own tooling does it, so the database is what the app's users actually have.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _driver_url(url: str, driver: str) -> str:
    return url.replace("postgresql://", f"postgresql+{driver}://", 1)


def mlflow(url: str) -> None:
    """What the tracking store does on a new database: the initial tables, then its alembic history to heads."""
    import sqlalchemy as sa
    from mlflow.store.db.utils import _initialize_tables

    engine = sa.create_engine(_driver_url(url, "psycopg"))
    try:
        _initialize_tables(engine)
    finally:
        engine.dispose()


def optuna(url: str) -> None:
    """The RDB storage's alembic directory, from base to head (RDBStorage itself would create_all and stamp)."""
    import optuna.storages._rdb as rdb
    from alembic import command
    from alembic.config import Config

    here = Path(rdb.__file__).parent
    config = Config(str(here / "alembic.ini"))
    config.set_main_option("script_location", str(here / "alembic"))
    config.set_main_option("sqlalchemy.url", _driver_url(url, "psycopg").replace("%", "%%"))
    command.upgrade(config, "head")


def prefect(url: str) -> None:
    """`prefect server database upgrade`: the server's async alembic environment on asyncpg."""
    os.environ["PREFECT_API_DATABASE_CONNECTION_URL"] = _driver_url(url, "asyncpg")
    os.environ["PREFECT_HOME"] = os.environ.get("PREFECT_HOME", str(Path.cwd() / ".prefect"))
    import asyncio

    from prefect.server.database.alembic_commands import alembic_upgrade
    from prefect.utilities.asyncutils import run_sync_in_worker_thread

    asyncio.run(run_sync_in_worker_thread(alembic_upgrade))


APPS = {"mlflow": mlflow, "optuna": optuna, "prefect": prefect}

if __name__ == "__main__":
    app, url = sys.argv[1], sys.argv[2]
    APPS[app](url)
