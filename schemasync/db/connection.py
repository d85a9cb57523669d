"""Connections: how to reach a database, and what to say when we cannot.

The engine talks to PostgreSQL through psycopg directly. Catalog queries and generated DDL are our own
SQL, so SQLAlchemy's engine adds nothing on these paths but import time (about half a second here),
and `status` must feel instant. SQLAlchemy is used where it earns its keep: compiling the models'
DDL and Alembic.

Connection failures are classified by libpq's message (psycopg gives no SQLSTATE before a session
exists): transient ones (server starting or shutting down, too many clients, refused while
restarting) are retried with backoff; bad credentials, a missing database and bad input never are.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from urllib.parse import quote, unquote, urlsplit

import psycopg
from psycopg import sql

from schemasync import secrets
from schemasync.config import Settings
from schemasync.errors import ConfigError, ConnectionFailed, SchemasyncError

log = logging.getLogger(__name__)

_SCHEMES = {
    "postgres",
    "postgresql",
    "postgresql+psycopg",
    "postgresql+psycopg2",
    "postgresql+psycopg3",
    "postgresql+asyncpg",
}
APPLICATION_NAME = "schemasync"


@dataclass(frozen=True, slots=True)
class Database:
    """A database to connect to. `conninfo` is a libpq URI and may hold a password: never print it."""

    conninfo: str
    origin: str
    embedded: bool = False

    @property
    def parts(self) -> dict[str, str]:
        # values parsed from a conninfo string are all str (the int in psycopg's type is for keyword overrides)
        return {k: str(v) for k, v in psycopg.conninfo.conninfo_to_dict(self.conninfo).items() if v is not None}

    @property
    def name(self) -> str:
        return str(self.parts.get("dbname") or self.parts.get("user") or "postgres")

    @property
    def display(self) -> str:
        """host:port/dbname as user@, with no password: safe for output, logs and artifacts."""
        p = self.parts
        if self.embedded:
            return f"{self.name} on the embedded PostgreSQL"
        return f"{p.get('user', '')}@{p.get('host', 'localhost')}:{p.get('port', 5432)}/{self.name}".lstrip("@")

    @property
    def sqlalchemy_url(self) -> str:
        """The same target as a SQLAlchemy URL on the psycopg (v3) driver, for Alembic and create_all."""
        return "postgresql+psycopg://" + self.conninfo.split("://", 1)[1]

    def with_dbname(self, dbname: str) -> Database:
        parts = self.parts | {"dbname": dbname}
        return replace(self, conninfo=to_uri(parts))


def to_uri(parts: dict[str, str]) -> str:
    user = quote(parts.pop("user", ""), safe="")
    password = parts.pop("password", None)
    host = parts.pop("host", "")
    port = parts.pop("port", "")
    dbname = quote(parts.pop("dbname", ""), safe="")
    auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    netloc = "" if host.startswith("/") else (f"[{host}]" if ":" in host else host) + (f":{port}" if port else "")
    if host.startswith("/"):
        parts["host"] = host
        if port:
            parts["port"] = port
    query = "&".join(f"{k}={quote(str(v), safe='/')}" for k, v in parts.items())
    return f"postgresql://{auth}{netloc}/{dbname}" + (f"?{query}" if query else "")


def parse_url(raw: str, origin: str) -> Database:
    """Accept postgres://, postgresql:// and SQLAlchemy-style postgresql+driver:// URLs for psycopg."""
    text = raw.strip()
    if "://" not in text:
        raise ConfigError(
            f"The database URL from {origin} is not a URL ({secrets.scrub(text)[:60]!r}).",
            "Use the form postgresql://user:password@host:5432/dbname.",
        )
    scheme, rest = text.split("://", 1)
    if scheme.lower() not in _SCHEMES:
        raise ConfigError(
            f"The database URL from {origin} uses the scheme {scheme!r}; schemasync works with PostgreSQL only.",
            "Use a postgresql:// (or postgres://) URL.",
        )
    uri = "postgresql://" + rest
    secrets.register_url(uri)  # before parsing: a parse error may quote the password
    try:
        split = urlsplit(uri)
        _ = split.port  # raises ValueError on a non-numeric or out-of-range port
        if split.password:
            secrets.register(split.password)
            secrets.register(unquote(split.password))
        parts = psycopg.conninfo.conninfo_to_dict(uri)
    except (ValueError, psycopg.ProgrammingError) as exc:
        raise ConfigError(
            f"The database URL from {origin} cannot be parsed: {' '.join(secrets.scrub(str(exc)).split())}.",
            "Use the form postgresql://user:password@host:5432/dbname; percent-encode special characters in the password.",
        ) from None
    if not parts.get("dbname"):
        raise ConfigError(
            f"The database URL from {origin} names no database.",
            "Add the database name: postgresql://user@host:5432/dbname.",
        )
    if not parts.get("host") and split.hostname is None:
        parts["host"] = "localhost"
    if parts.get("password"):
        secrets.register(str(parts["password"]))
    return Database(to_uri({k: str(v) for k, v in parts.items() if v is not None}), origin)


_TRANSIENT = re.compile(
    r"the database system is (starting up|shutting down|in recovery mode|not yet accepting connections)"
    r"|too many clients|too many connections|remaining connection slots are reserved|server closed the connection unexpectedly"
    r"|connection refused|could not receive data|terminating connection due to administrator command"
    r"|SSL SYSCALL error",
    re.IGNORECASE,
)


def transient_text(text: str) -> bool:
    """Whether a server or libpq message (also as pg_dump prints it) says the connection was lost or
    not yet possible: the server may accept us a moment later."""
    return bool(_TRANSIENT.search(text))


def is_transient(exc: BaseException) -> bool:
    """True for connection failures worth retrying (connecting again, or a workflow step run again)."""
    return isinstance(exc, psycopg.OperationalError) and transient_text(str(exc))


def explain(exc: psycopg.Error, db: Database) -> SchemasyncError:
    """Turn a driver error into a one-paragraph message with what to do; never leaks the password."""
    text = secrets.scrub(str(exc)).strip()
    first = re.sub(r"^connection is bad:\s*", "", text.splitlines()[0]) if text else type(exc).__name__
    where = db.display
    checks: list[tuple[str, str, str]] = [
        (
            r"password authentication failed|authentication failed",
            f"Authentication failed for {where}: the password or user is wrong.",
            "Check the user and password in the database URL (percent-encode special characters).",
        ),
        (
            r'role "[^"]+" does not exist',
            f"The user in the URL does not exist on the server ({where}).",
            "Check the user name in the database URL.",
        ),
        (
            r'database "[^"]+" does not exist',
            f"The database {db.name!r} does not exist on the server ({where}).",
            f"Create it first (createdb {db.name}) or fix the database name in the URL.",
        ),
        (
            r"no pg_hba\.conf entry",
            f"The server at {where} refuses connections from this host for this user (pg_hba.conf).",
            "Ask the database administrator to allow this host, or connect from an allowed one.",
        ),
        (
            r"permission denied for database|must have CONNECT privilege",
            f"The user may not connect to {db.name!r} ({where}).",
            f"Grant it: GRANT CONNECT ON DATABASE {db.name} TO <user>.",
        ),
        (
            r"timeout expired|timed out",
            f"Timed out connecting to {where}: the host did not answer.",
            "Check the host name, port and network (firewall, VPN), and that the server is running.",
        ),
        (
            r"could not translate host name|failed to resolve host|Name or service not known",
            f"The host in the URL cannot be resolved ({where}).",
            "Check the host name in the database URL.",
        ),
        (
            r"connection refused|No such file or directory",
            f"Nothing is accepting connections at {where}.",
            "Check that PostgreSQL is running and the host and port are right.",
        ),
        (
            r"too many clients|too many connections|remaining connection slots",
            f"The server at {where} has no free connection slots.",
            "Wait for other clients to disconnect, or raise max_connections (or the role's CONNECTION LIMIT).",
        ),
        (
            r"starting up|shutting down|recovery mode",
            f"The server at {where} is not accepting connections right now ({first}).",
            "Wait until it is up and try again.",
        ),
        (
            r"invalid \w+ value|invalid port number|invalid connection option|invalid integer value"
            r"|definition of service .* not found|invalid URI",
            f"The database URL for {where} has a parameter libpq does not accept: {first}.",
            "Fix or remove it (the URL's parameters are libpq connection parameters, such as sslmode=require).",
        ),
        (
            r"SSL",
            f"The SSL negotiation with {where} failed ({first}).",
            "Check the sslmode parameter in the URL and the server's SSL settings.",
        ),
        (
            r"permission denied",
            f"Permission denied on {where}: {first}.",
            "Grant the privileges listed in the README's 'Least privilege' section to this user.",
        ),
    ]
    for pattern, message, hint in checks:
        if re.search(pattern, text, re.IGNORECASE):
            return ConnectionFailed(message, hint)
    return ConnectionFailed(f"Database error on {where}: {first}.", "Run with --debug for details.")


def connect(
    db: Database,
    settings: Settings,
    *,
    autocommit: bool = True,
    attempts: int = 4,
    application_name: str = APPLICATION_NAME,
) -> psycopg.Connection:
    """Open a connection with a connect timeout; retry transient failures with exponential backoff."""
    timeout = max(2, round(settings.connect_timeout))  # libpq's minimum is 2 s
    delay = 0.25
    for attempt in range(1, attempts + 1):
        try:
            conn = psycopg.connect(
                db.conninfo, autocommit=autocommit, connect_timeout=timeout, application_name=application_name
            )
            conn.execute("SET TIME ZONE 'UTC'")  # schema_versions stores TIMESTAMP: keep it in UTC
            _notice_lost_client(conn)
            if not autocommit:
                conn.commit()
            return conn
        except psycopg.OperationalError as exc:
            if attempt < attempts and is_transient(exc):
                log.debug(
                    "connection attempt %d to %s failed (%s); retrying in %.1fs",
                    attempt,
                    db.display,
                    secrets.scrub(str(exc)).splitlines()[0],
                    delay,
                )
                time.sleep(delay)
                delay *= 2
                continue
            raise explain(exc, db) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _notice_lost_client(conn: psycopg.Connection) -> None:
    """Have the server check, while a statement runs or waits for a lock, that we are still there.

    Without it, the backend of a killed schemasync (SIGKILL, a lost laptop) keeps waiting for its lock,
    or keeps rewriting a table, for up to statement_timeout, holding the change lock and everything its
    transaction locked, and only then notices nobody is listening and rolls back. With it (PostgreSQL
    14+, on Linux and other systems with POLLRDHUP) the backend rolls back within a second. Servers that
    do not know the setting, or cannot honour it on their platform, refuse it: then nothing changes.
    """
    if conn.info.server_version < 140000:
        return
    try:
        conn.execute("SET client_connection_check_interval = '1s'")
    except psycopg.Error as exc:
        log.debug("client_connection_check_interval not set: %s", secrets.scrub(str(exc)).splitlines()[0])
        if not conn.autocommit:
            conn.rollback()


@contextlib.contextmanager
def session(db: Database, settings: Settings, **kwargs: object) -> Iterator[psycopg.Connection]:
    """A connection closed on exit, with driver errors raised inside translated for the user."""
    conn = connect(db, settings, **kwargs)  # type: ignore[arg-type]
    try:
        yield conn
    except psycopg.Error as exc:
        raise explain(exc, db) from exc
    finally:
        conn.close()


def set_timeouts(
    conn: psycopg.Connection, *, lock_timeout: float, statement_timeout: float, local: bool = False
) -> None:
    """Apply lock_timeout and statement_timeout (seconds; 0 means none) to the session or transaction."""
    scope = "LOCAL " if local else ""
    for name, seconds in (("lock_timeout", lock_timeout), ("statement_timeout", statement_timeout)):
        conn.execute(
            sql.SQL("SET {}{} = {}").format(
                sql.SQL(scope), sql.Identifier(name), sql.Literal(f"{int(seconds * 1000)}ms")
            )
        )
