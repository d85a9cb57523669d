"""Which database a command works on: the flag, the environment's URL, the production settings, or the embedded server."""

from __future__ import annotations

from schemasync import secrets
from schemasync.config import Settings
from schemasync.db import embedded
from schemasync.db.connection import Database, parse_url, to_uri
from schemasync.errors import ConfigError


def resolve(settings: Settings, sources: dict[str, str] | None = None, *, start_embedded: bool = True) -> Database:
    """The database the settings point at; the embedded server when none is configured outside production."""
    sources = sources or {}
    if settings.database_url is not None and (
        not settings.is_production or sources.get("database_url", "").startswith("flag")
    ):
        return parse_url(settings.database_url.get_secret_value(), sources.get("database_url", "DATABASE_URL"))
    if settings.is_production:
        if settings.prod_database_url is not None:
            return parse_url(
                settings.prod_database_url.get_secret_value(), sources.get("prod_database_url", "PROD_DATABASE_URL")
            )
        if settings.prod_db_host:
            missing = [n for n in ("prod_db_user", "prod_db_name") if not getattr(settings, n)]
            if missing:
                raise ConfigError(
                    f"PROD_DB_HOST is set but {', '.join(m.upper() for m in missing)} is not.",
                    "Set PROD_DB_HOST, PROD_DB_USER, PROD_DB_NAME (and PROD_DB_PORT, PROD_DB_PASS), or PROD_DATABASE_URL.",
                )
            parts = {
                "host": settings.prod_db_host,
                "port": str(settings.prod_db_port),
                "user": settings.prod_db_user or "",
                "dbname": settings.prod_db_name or "",
            }
            if settings.prod_db_pass is not None:
                parts["password"] = settings.prod_db_pass.get_secret_value()
                secrets.register(parts["password"])
            return Database(to_uri(parts), "PROD_DB_* variables")
        raise ConfigError(
            "No production database is configured.",
            "Set PROD_DATABASE_URL, or PROD_DB_HOST, PROD_DB_PORT, PROD_DB_USER, PROD_DB_PASS and PROD_DB_NAME, or pass --database-url.",
        )
    if not start_embedded:
        raise ConfigError(
            "No database is configured.", "Set DATABASE_URL or pass --database-url postgresql://user@host/dbname."
        )

    return embedded.ensure(settings)
