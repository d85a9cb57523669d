"""Where the models are materialised: a dev database, so a look at the target needs only read privileges.

Reading the models' schema means running their DDL somewhere PostgreSQL renders it (`schema/target.py`).
Running it in the target (rolled-back scratch schemas) needs CREATE there, leaves dead catalog rows in
production's catalog on every cold look, and runs model text as DDL in production's session. So the
DDL runs in a *dev database* instead, chosen in this order:

1. `dev-url` (`SCHEMASYNC_DEV_URL`, `--dev-url`, `[tool.schemasync] dev-url`) when set: a database used
   only for this (scratch schemas in a rolled-back transaction; the extensions the models need are
   created there once and kept).
2. The embedded PostgreSQL (`schemasync[embedded]`, database `schemasync_dev` in the project's
   `.schemasync/pgdata` server) when its major version equals the target's. First, although starting it
   is not free: a first start (initdb + start) took 1.7 s here, once per project; afterwards the server
   keeps running between commands (as for `./run demo`) and is reused at no cost, whereas a temporary
   database costs a CREATE and a DROP DATABASE on every cold look, writes to the target server's
   shared catalog, and needs CREATEDB.
3. A temporary database on the target's server (`ss_dev_<random>`, created from template0 with the
   target's encoding and locale), when the role may create databases; dropped at the end, also when
   the look fails or is interrupted (a process killed outright leaves it: drop `ss_dev_*` by hand).
4. Today's rolled-back scratch schemas in the target, when the role has CREATE on it.
5. Otherwise a one-paragraph error naming the `dev-url` setting.

Fidelity. A dev database must render the models as the target would: the same major version (checked:
a mismatch is an error naming both versions); the target's search path (set on the dev session, so
types are qualified, or not, the same way); and the target's extensions that the models use (an
extension is used when one of its types, functions or operator classes is named in the models' DDL),
created in the dev database at the target's version, in a schema of the same name. An extension the
dev database cannot provide is an error naming it (set dev-url to a database that has it).

The cache (`target.py`) is keyed by what could change the result: the choice (kind and where), the
target's major version, search path and extensions with their versions; the entry is not written
when the dev database holds an extension at another version than the target, so a dev database
never serves a schema rendered differently from what the key promises. The key is computed from one
query on the target, so a warm look never connects to (or starts) the dev database.

Known limits: a models schema that exists in the target and is named in its search path does not exist
in a dev database, so unqualified text in the models that relies on it resolves differently; collations
and functions that exist only in the target (a default calling the target's own function) become model
errors in a dev database: set dev-url to a database prepared with them.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql as pgsql

from schemasync import db, secrets
from schemasync.config import Settings
from schemasync.db import embedded
from schemasync.errors import ConfigError, ConnectionFailed
from schemasync.schema import scratch
from schemasync.schema.extensions import MEMBER, References

if TYPE_CHECKING:
    from schemasync.schema.ddl import ModelDDL
    from schemasync.schema.model import Schema

log = logging.getLogger(__name__)

DEV_URL = "dev-url"
EMBEDDED = "embedded"
TEMPORARY = "temporary database"
SCRATCH = "scratch schemas in the target"
EMBEDDED_DBNAME = "schemasync_dev"
TEMPORARY_PREFIX = "ss_dev_"
SETTING = "dev-url (SCHEMASYNC_DEV_URL, --dev-url, or dev-url under [tool.schemasync])"

_FACTS = """
SELECT pg_catalog.current_setting('server_version_num')::int,
       pg_catalog.current_setting('search_path'),
       COALESCE((SELECT r.rolcreatedb OR r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user), false),
       pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE'),
       pg_catalog.pg_encoding_to_char(d.encoding), d.datcollate, d.datctype,
       ARRAY(SELECT ARRAY[e.extname::text, e.extversion, n.nspname::text]
             FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
             WHERE e.extname <> 'plpgsql' ORDER BY e.extname)
FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()
"""

# What an extension provides that models can name (`schema/extensions.py` MEMBER): types, functions, operator classes.
_MEMBERS = """
SELECT e.extname, m.kind, m.name
FROM pg_catalog.pg_extension e
JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.refobjid = e.oid AND d.deptype = 'e'
JOIN LATERAL ({MEMBER}) AS m(kind, name) ON true
WHERE e.extname = ANY(%s)
""".replace("{MEMBER}", MEMBER)


@dataclass(frozen=True, slots=True)
class Extension:
    name: str
    version: str
    schema: str


@dataclass(frozen=True, slots=True)
class TargetFacts:
    """What the choice and the cache key need from the target: one query, also on a warm look."""

    server_version: int  # server_version_num, e.g. 150020
    search_path: str
    may_create_databases: bool
    may_create_schemas: bool
    encoding: str
    collate: str
    ctype: str
    extensions: tuple[Extension, ...]

    @property
    def major(self) -> int:
        return self.server_version // 10000

    @classmethod
    def read(cls, conn: psycopg.Connection) -> TargetFacts:
        rows = _read(conn, _FACTS)
        assert rows
        row = rows[0]
        version, path, createdb, create, encoding, collate, ctype, extensions = row
        return cls(
            version,
            path,
            bool(createdb),
            bool(create),
            encoding,
            collate,
            ctype,
            tuple(Extension(*e) for e in extensions),
        )


@dataclass(frozen=True, slots=True)
class DevChoice:
    """Where the models of one look are materialised, and why there."""

    kind: str  # DEV_URL, EMBEDDED, TEMPORARY or SCRATCH
    where: str  # safe for output: no password
    facts: TargetFacts
    settings: Settings = field(compare=False, repr=False)  # connect timeout, embedded directory
    database: db.Database | None = field(default=None, compare=False)  # DEV_URL: the dev database
    identity: tuple[Any, ...] = ()  # what, besides the facts, could change the materialised result

    def describe(self) -> str:
        """One line for `status` and logs."""
        return {
            DEV_URL: f"the dev database {self.where} (dev-url)",
            EMBEDDED: f"the embedded PostgreSQL ({self.where})",
            TEMPORARY: f"a temporary database on the target's server {self.where}, dropped afterwards",
            SCRATCH: f"rolled-back scratch schemas in the target {self.where}",
        }[self.kind]

    def key_material(self) -> dict[str, Any]:
        """What the desired-schema cache key adds for this choice (see the module docstring)."""
        return {
            "dev": [self.kind, *self.identity],
            "server_major": self.facts.major,
            "search_path": self.facts.search_path,
            "extensions": [[e.name, e.version, e.schema] for e in self.facts.extensions],
        }


def _read(conn: psycopg.Connection, query: str, params: tuple[Any, ...] | None = None) -> list[tuple[Any, ...]]:
    """Rows of a read on the target, leaving an idle connection idle (no transaction left open for the caller)."""
    idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    rows = conn.execute(query, params).fetchall()
    if idle and not conn.autocommit:
        conn.rollback()
    return rows


def _target_where(conn: psycopg.Connection) -> str:
    info = conn.info
    return f"{info.user}@{info.host}:{info.port}/{info.dbname}"


def choose(conn: psycopg.Connection, settings: Settings) -> DevChoice:
    """The dev database for looks at `conn` (one query on the target; connects nowhere else)."""
    facts = TargetFacts.read(conn)
    info = conn.info
    if settings.dev_url is not None:
        dev = db.parse_url(settings.dev_url.get_secret_value(), "dev-url")
        parts = dev.parts
        return DevChoice(
            DEV_URL,
            dev.display,
            facts,
            settings,
            dev,
            (parts.get("host", "localhost"), parts.get("port", "5432"), dev.name),
        )

    if embedded.major_version() == facts.major:
        pgdata = (settings.project_dir / settings.embedded_dir).resolve()
        return DevChoice(EMBEDDED, str(pgdata), facts, settings, None, (str(pgdata),))
    if facts.may_create_databases:
        return DevChoice(TEMPORARY, f"{info.host}:{info.port}", facts, settings, None, (info.host, info.port))
    if facts.may_create_schemas:
        return DevChoice(SCRATCH, _target_where(conn), facts, settings, None, (info.host, info.port, info.dbname))
    raise ConfigError(
        f"No database is available to read the models' schema in: role {info.user!r} may not create schemas in "
        f"the target {_target_where(conn)} nor create databases, and no dev database is set "
        f"(the embedded PostgreSQL is {_embedded_state(embedded.major_version())}, the target runs "
        f"PostgreSQL {facts.major}).",
        f"Set {SETTING} to a PostgreSQL {facts.major} database the models can be created in; the target then only "
        "needs CONNECT, USAGE on its schemas and SELECT.",
    )


def _embedded_state(major: int | None) -> str:
    return "not installed" if major is None else f"PostgreSQL {major}"


def check_version(dev_major: int, target_major: int, dev_where: str, target_where: str) -> None:
    """Refuse a dev database of another major version: it renders types, defaults and indexes differently."""
    if dev_major != target_major:
        raise ConfigError(
            f"The dev database {dev_where} runs PostgreSQL {dev_major} but the target {target_where} runs "
            f"PostgreSQL {target_major}: the models' schema must be read on the target's major version, since "
            "types, defaults and index definitions are rendered differently across versions; nothing was changed.",
            f"Point {SETTING} at a PostgreSQL {target_major} database.",
        )


_embedded_lock = threading.Lock()


def materialise(choice: DevChoice, conn: psycopg.Connection, ddl: ModelDDL) -> tuple[Schema, bool]:
    """The models' schema rendered where `choice` says; and whether it may be cached under the choice's key.

    `conn` is the target: used for SCRATCH, and to reach the target's server for TEMPORARY.
    """
    settings = choice.settings
    if choice.kind == SCRATCH:
        return scratch.materialise_in_target(conn, ddl), True
    needed = _used_extensions(conn, choice.facts.extensions, ddl)
    if choice.kind == TEMPORARY:
        with _temporary_database(conn, choice, settings) as dev:
            return _materialise_in(dev, choice, needed, ddl, conn)
    if choice.kind == EMBEDDED:
        dev = _embedded_database(settings)
    else:
        assert choice.database is not None
        dev = choice.database
    return _materialise_in(dev, choice, needed, ddl, conn)


def _materialise_in(
    dev: db.Database,
    choice: DevChoice,
    needed: tuple[Extension, ...],
    ddl: ModelDDL,
    conn: psycopg.Connection,
) -> tuple[Schema, bool]:
    settings = choice.settings
    try:
        dconn = db.connect(dev, settings)
    except ConnectionFailed as exc:
        raise ConnectionFailed(
            f"The dev database {dev.display} the models are materialised in cannot be reached: {exc.message}",
            f"Start it or correct {SETTING}; nothing was changed in the target.",
        ) from None
    try:
        check_version(dconn.info.server_version // 10000, choice.facts.major, dev.display, _target_where(conn))
        exact = _ensure_extensions(dconn, needed, dev.display)
        _ensure_roles(dconn, conn, ddl.roles, dev.display)
        dconn.execute("SELECT pg_catalog.set_config('search_path', %s, false)", (choice.facts.search_path,))
        db.set_timeouts(dconn, lock_timeout=settings.lock_timeout, statement_timeout=settings.statement_timeout)
        created = _models_schemas(dconn, ddl.schemas)
        try:
            return scratch.materialise(dconn, ddl, frozenset(e.name for e in needed)), exact
        finally:
            for name in reversed(created):  # empty again: the models were created in scratch schemas
                dconn.execute(pgsql.SQL("DROP SCHEMA IF EXISTS {} RESTRICT").format(pgsql.Identifier(name)))
    except psycopg.Error as exc:
        raise db.explain(exc, dev) from exc
    finally:
        dconn.close()


def _models_schemas(dconn: psycopg.Connection, schemas: tuple[str, ...]) -> list[str]:
    """Create the models' schemas the dev database lacks; return those created (dropped again afterwards).

    The scratch copy of a models schema goes on the search path where the schema itself stands, and
    PostgreSQL leaves a schema that does not exist out of the search path it resolves
    (`current_schemas`): with `search_path = app, public` copied from the target, a default such as
    `'happy'::mood` for an `app.mood` enum found no type in a fresh dev database and became a false model
    error. An empty schema of that name there puts the scratch copy where the target has the original.
    """
    rows = dconn.execute("SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = ANY(%s)", (list(schemas),))
    present = {name for (name,) in rows.fetchall()}
    created = [name for name in schemas if name not in present]
    for name in created:
        dconn.execute(pgsql.SQL("CREATE SCHEMA {}").format(pgsql.Identifier(name)))
    return created


def _ensure_roles(dconn: psycopg.Connection, conn: psycopg.Connection, roles: tuple[str, ...], where: str) -> None:
    """Create, as NOLOGIN roles, those the models' GRANTs and policies name that the dev database's cluster lacks.

    A GRANT (or a policy) for a role that does not exist fails, and it would be a model error only because the
    dev server is not the target's (the embedded one, a `dev-url` elsewhere). Roles belong to a whole
    cluster, so they are created only when the dev database is on another cluster than the target (its
    `pg_control_system()` identifier differs): never in the target's, where a missing role is the truth
    about the target. Kept afterwards, like the extensions created there.
    """
    if not roles:
        return
    rows = dconn.execute("SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = ANY(%s)", (list(roles),))
    present = {name for (name,) in rows.fetchall()}
    missing = [name for name in roles if name not in present]
    dev_cluster, target_cluster = _cluster_id(dconn), _cluster_id(conn)
    if not missing or dev_cluster is None or target_cluster is None or dev_cluster == target_cluster:
        return
    for name in missing:
        try:
            with dconn.transaction():
                dconn.execute(pgsql.SQL("CREATE ROLE {} NOLOGIN").format(pgsql.Identifier(name)))
        except psycopg.Error as exc:
            reason = secrets.scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            log.warning(
                "Role %s, which the models grant privileges to, could not be created in the dev database %s (%s): "
                "those grants are model errors.",
                name,
                where,
                reason,
            )
            continue
        log.info("Created role %s (NOLOGIN) in the dev database %s: the models grant it privileges.", name, where)


def _cluster_id(conn: psycopg.Connection) -> int | None:
    """The server's system identifier (one per cluster, from initdb); None when it cannot be read."""
    try:
        with conn.transaction():
            row = conn.execute("SELECT system_identifier FROM pg_catalog.pg_control_system()").fetchone()
    except psycopg.Error:
        return None
    return None if row is None else int(row[0])


def _used_extensions(
    conn: psycopg.Connection, extensions: tuple[Extension, ...], ddl: ModelDDL
) -> tuple[Extension, ...]:
    """The target's extensions the models use a type, function or operator class of (cold path only)."""
    if not extensions:
        return ()
    references = References.of(s.text for s in ddl.statements)
    rows = _read(conn, _MEMBERS, ([e.name for e in extensions],))
    used = {name for name, kind, member in rows if references.uses(kind, member)}
    return tuple(e for e in extensions if e.name in used)


def _ensure_extensions(dconn: psycopg.Connection, needed: tuple[Extension, ...], where: str) -> bool:
    """Create the extensions the models use in the dev database; True when all are at the target's version.

    A missing one is an error naming it (nothing is changed in the target); one installed at another
    version is used as it is, with a warning, and the result is not cached.
    """
    exact = True
    for ext in needed:
        row = dconn.execute("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = %s", (ext.name,)).fetchone()
        if row is None:
            row = _create_extension(dconn, ext, where)
        if row[0] != ext.version:
            log.warning(
                "The dev database %s has extension %s at version %s, the target at %s: the models are read with %s "
                "and the result is not cached.",
                where,
                ext.name,
                row[0],
                ext.version,
                row[0],
            )
            exact = False
    return exact


def _create_extension(dconn: psycopg.Connection, ext: Extension, where: str) -> tuple[str]:
    available = dconn.execute(
        "SELECT version FROM pg_catalog.pg_available_extension_versions WHERE name = %s", (ext.name,)
    ).fetchall()
    if not available:
        raise ConfigError(
            f"The models use extension {ext.name} (version {ext.version} in the target), which the dev database "
            f"{where} cannot provide: it is not installed on that server; nothing was changed.",
            f"Install {ext.name} on the dev database's server, or point {SETTING} at a server that has it.",
        )
    version = ext.version if (ext.version,) in available else None
    statement = pgsql.SQL("CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {}{} CASCADE").format(
        pgsql.Identifier(ext.name),
        pgsql.Identifier(ext.schema),
        pgsql.SQL(" VERSION {}").format(pgsql.Literal(version)) if version else pgsql.SQL(""),
    )
    try:
        with dconn.transaction():
            dconn.execute(pgsql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(pgsql.Identifier(ext.schema)))
            dconn.execute(statement)
    except psycopg.Error as exc:
        reason = secrets.scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        raise ConfigError(
            f"The models use extension {ext.name}, which could not be created in the dev database {where}: "
            f"{reason}; nothing was changed in the target.",
            f"Create it there once as a superuser (CREATE EXTENSION {ext.name}), or point {SETTING} elsewhere.",
        ) from None
    row = dconn.execute("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = %s", (ext.name,)).fetchone()
    assert row is not None
    log.info("Created extension %s %s in the dev database %s.", ext.name, row[0], where)
    return (row[0],)


def _embedded_database(settings: Settings) -> db.Database:
    """The embedded server's `schemasync_dev` database, started and created when needed (one thread at a time)."""
    with _embedded_lock:
        admin = embedded.server(settings)
        with psycopg.connect(admin.conninfo, autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (EMBEDDED_DBNAME,)).fetchone() is None:
                conn.execute(f"CREATE DATABASE {EMBEDDED_DBNAME}")
    return admin.with_dbname(EMBEDDED_DBNAME)


def _target_database(conn: psycopg.Connection, dbname: str) -> db.Database:
    """The target's server with the target's credentials, another database: derived from the live connection."""
    params = conn.info.get_parameters()
    password = conn.pgconn.password
    if password:
        params["password"] = password.decode()
        secrets.register(params["password"])
    params["dbname"] = dbname
    return db.Database(psycopg.conninfo.make_conninfo(**params), "the target's server")


@contextlib.contextmanager
def _temporary_database(conn: psycopg.Connection, choice: DevChoice, settings: Settings) -> Iterator[db.Database]:
    """CREATE DATABASE ss_dev_<random> on the target's server, yielded, and dropped whatever happens.

    Created and dropped from a connection of its own (CREATE DATABASE cannot run in a transaction
    block, and the caller's connection may be in one). The DROP runs in `finally`, so an error or
    Ctrl-C while the models are read still removes it; WITH (FORCE) ends a session left in it.
    """
    name = f"{TEMPORARY_PREFIX}{uuid.uuid4().hex[:16]}"
    facts = choice.facts
    admin = db.connect(_target_database(conn, conn.info.dbname), settings)
    created = False
    try:
        try:
            admin.execute(
                pgsql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING {} LC_COLLATE {} LC_CTYPE {}").format(
                    pgsql.Identifier(name),
                    pgsql.Literal(facts.encoding),
                    pgsql.Literal(facts.collate),
                    pgsql.Literal(facts.ctype),
                )
            )
            created = True
        except psycopg.Error as exc:
            raise ConfigError(
                f"schemasync could not create its temporary dev database on {choice.where}: "
                f"{secrets.scrub(str(exc).splitlines()[0])}; nothing was changed.",
                f"Set {SETTING} to a database the models can be created in.",
            ) from None
        log.debug("created temporary dev database %s", name)
        yield _target_database(conn, name)
    finally:
        try:
            if created:
                drop = pgsql.SQL("DROP DATABASE IF EXISTS {}{}").format(
                    pgsql.Identifier(name), pgsql.SQL(" WITH (FORCE)") if facts.major >= 13 else pgsql.SQL("")
                )
                admin.execute(drop)
                log.debug("dropped temporary dev database %s", name)
        finally:
            admin.close()
