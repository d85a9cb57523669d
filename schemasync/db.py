"""Connections: which database, how to reach it, what to say when we cannot, and the run lock.

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
import hashlib
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
from schemasync.errors import ConfigError, ConnectionFailed, ExitCode, SchemasyncError

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
# Key space for our session-level advisory lock: advisory locks are per database already, so one
# constant key means "one schemasync change at a time on this database".
LOCK_CLASS_ID = int.from_bytes(hashlib.sha256(b"schemasync").digest()[:4], "big", signed=True)
LOCK_OBJECT_ID = 1


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
        return replace(self, conninfo=_to_uri(parts))


def _to_uri(parts: dict[str, str]) -> str:
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
    return Database(_to_uri({k: str(v) for k, v in parts.items() if v is not None}), origin)


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
            return Database(_to_uri(parts), "PROD_DB_* variables")
        raise ConfigError(
            "No production database is configured.",
            "Set PROD_DATABASE_URL, or PROD_DB_HOST, PROD_DB_PORT, PROD_DB_USER, PROD_DB_PASS and PROD_DB_NAME, or pass --database-url.",
        )
    if not start_embedded:
        raise ConfigError(
            "No database is configured.", "Set DATABASE_URL or pass --database-url postgresql://user@host/dbname."
        )
    from schemasync import embedded

    return embedded.ensure(settings)


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


class LockTimeout(SchemasyncError):
    exit_code = ExitCode.ERROR


@contextlib.contextmanager
def advisory_lock(conn: psycopg.Connection, db: Database, timeout: float) -> Iterator[None]:
    """Hold schemasync's session-level advisory lock on this database, polling with backoff.

    Session-level (not transaction-level) so that a CREATE INDEX CONCURRENTLY outside the transaction
    stays covered, and so a killed process releases it with its session: nothing to clean up by hand.
    """
    deadline = time.monotonic() + timeout
    delay = 0.05
    announced = False
    while True:
        got = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASS_ID, LOCK_OBJECT_ID)).fetchone()
        if got and got[0]:
            break
        holder = lock_holder(conn)
        if time.monotonic() >= deadline:
            raise LockTimeout(
                f"Another schemasync run holds the change lock on {db.display}{holder} and did not finish within {timeout:.0f}s; nothing was changed.",
                "Wait for it to finish and run again, or raise SCHEMASYNC_ADVISORY_LOCK_TIMEOUT (advisory-lock-timeout in [tool.schemasync]).",
            )
        if not announced:
            log.warning("waiting for another schemasync run on %s%s", db.display, holder)
            announced = True
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 2.0)
    try:
        yield
    finally:
        if not conn.closed:
            with contextlib.suppress(psycopg.Error):
                if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    conn.rollback()
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS_ID, LOCK_OBJECT_ID))


def lock_holder(conn: psycopg.Connection) -> str:
    """' (pid N, application X, since T)' for whoever holds our lock, or '' if nobody visible does."""
    row = conn.execute(
        """SELECT a.pid, a.application_name, a.backend_start FROM pg_locks l JOIN pg_stat_activity a USING (pid)
           WHERE l.locktype = 'advisory' AND l.classid::bigint = %s AND l.objid::bigint = %s AND l.granted
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())""",
        (LOCK_CLASS_ID & 0xFFFFFFFF, LOCK_OBJECT_ID),
    ).fetchone()
    if row is None:
        return ""
    return f" (pid {row[0]}, {row[1] or 'unknown application'}, connected {row[2]:%Y-%m-%d %H:%M:%S})"


@dataclass(frozen=True, slots=True)
class LockTable:
    """The server's shared lock table: room for about `capacity` locked objects, for all sessions together.

    PostgreSQL sizes it as max_locks_per_transaction x (server processes + prepared transactions); one
    transaction may use more than its share, but never more than the whole table ("out of shared memory").
    """

    max_locks_per_transaction: int
    processes: int  # max_connections + autovacuum workers + launcher + background workers + WAL senders + prepared

    @property
    def capacity(self) -> int:
        return self.max_locks_per_transaction * self.processes

    def describe(self) -> str:
        return (
            f"{self.capacity:,} locks (max_locks_per_transaction {self.max_locks_per_transaction} x "
            f"{self.processes} server processes and prepared transactions)"
        )

    def setting_for(self, locks: int) -> int:
        """The max_locks_per_transaction that would make room for `locks`, with a fifth to spare."""
        return max(self.max_locks_per_transaction + 1, -(-int(locks * 1.2) // self.processes))


_LOCK_SETTINGS = (
    "max_locks_per_transaction",
    "max_connections",
    "autovacuum_max_workers",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
)


def lock_table(conn: psycopg.Connection) -> LockTable:
    """Read the settings that size the lock table (pg_settings is readable by every role)."""
    rows: dict[str, int] = dict(
        conn.execute(
            "SELECT name, setting::int FROM pg_catalog.pg_settings WHERE name = ANY(%s)", (list(_LOCK_SETTINGS),)
        ).fetchall()
    )
    per = int(rows.get("max_locks_per_transaction", 64))
    processes = sum(int(rows.get(n, 0)) for n in _LOCK_SETTINGS[1:]) + 1  # + the autovacuum launcher
    return LockTable(per, max(processes, 1))
