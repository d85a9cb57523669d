"""Everything the studio reads, and how it reads it without changing anything.

Every page reads through a *read-only session*: a fresh connection per request with
`default_transaction_read_only = on`, a short statement timeout and lock timeout, and (for the data
preview) an explicit `SET TRANSACTION READ ONLY` on top. A connection per request keeps nothing
between requests that could go stale or half-broken; on loopback it costs a few milliseconds.

The one exception is reading the models' schema for the drift figures: like `schemasync diff`, it
materialises the models in scratch schemas inside a transaction that is always rolled back
(`schema/target.py`), and caches the result by DDL hash so later requests send no DDL at all. That
session is separate and does nothing else; the plan is then made and measured on a read-only one.

Figures are the engine's own (`inventory.take`, `versions`, `engine.prepare`, `backups.locate`), so the
studio shows exactly what `status`, `history`, `diff` and `backups list` print.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from schemasync import db, engine, inventory
from schemasync.backups import locate
from schemasync.config import Loaded, Settings
from schemasync.errors import ConfigError, SchemasyncError
from schemasync.history import snapshots, versions
from schemasync.plan.facts import measure as measure_facts
from schemasync.schema.model import Schema, Table

if TYPE_CHECKING:
    from sqlalchemy import MetaData

    from schemasync.backups.store import StoredBackup

APPLICATION_NAME = "schemasync studio"
STATEMENT_TIMEOUT = 10.0  # seconds: a page that needs longer is better told so than left hanging
LOCK_TIMEOUT = 1.0
CONNECT_ATTEMPTS = 2  # one retry of a transient failure: an error page beats a long wait
EXACT_COUNT_MAX_BYTES = 16 * 1024 * 1024  # tables up to this size get an exact row count on their page
VALUE_PREVIEW_CHARS = 500  # longer values are cut in the data preview (and never fetched whole)


def seconds(value: float) -> str:
    """A timeout as people write it: `10 s`, `1.5 s`, `250 ms` (a configured `0.25` is not "0s")."""
    return f"{value:g} s" if value >= 1 else f"{value * 1000:.0f} ms"


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def _project_modules(names: set[str], project_dir: Path) -> dict[str, tuple[Path, tuple[int, int] | None]]:
    """The modules among `names` whose file is in the project (the user's code), with its stamp."""
    project = project_dir.resolve()
    found = {}
    for name in names:
        file = getattr(sys.modules.get(name), "__file__", None)
        if file and (path := Path(file).resolve()).is_relative_to(project):
            found[name] = (path, _stamp(path))
    return found


class NotFound(SchemasyncError):
    """A page asked for something that is not there (a table that was dropped, a mistyped link)."""


class Busy(SchemasyncError):
    """A read waited too long: a lock held by someone else, or a query over the statement timeout."""


class ReadFailed(SchemasyncError):
    """The database answered a read with an error (the connection itself is fine): not "unavailable"."""


class NotPermitted(ReadFailed):
    """The user may connect but not read what the page shows (no SELECT on a table, say)."""


# -- what the pages show ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelsState:
    """Whether the database matches the models, for the overview."""

    configured: bool
    in_sync: bool | None = None
    changes: int = 0
    statements: int = 0
    hazards: tuple[str, ...] = ()
    error: str | None = None
    left_out: int = 0  # model errors and unmanaged-declared objects: never "in sync" while there are any


@dataclass(frozen=True, slots=True)
class Overview:
    """The figures `schemasync status` prints, plus the models' state."""

    database: str
    environment: str
    app_version: str | None
    app_version_source: str
    app_version_problem: str | None
    database_version: str | None
    last_updated: datetime | None
    relation: str | None
    versions_table: bool
    inventory: inventory.Inventory
    models: ModelsState


@dataclass(frozen=True, slots=True)
class Rows:
    """One page of a table's data, every value as PostgreSQL's text output (None for NULL)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str | None, ...], ...]
    page: int
    per_page: int
    has_next: bool
    total: int | None  # exact count, for tables small enough to count
    order: tuple[str, ...]  # columns the rows are ordered by (empty: storage order)
    descending: bool = False
    unsortable: str | None = None  # the column asked to sort by, whose type has no ordering (json, point...)

    @property
    def first(self) -> int:
        return (self.page - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1

    @property
    def pages(self) -> int | None:
        return None if self.total is None else max(1, -(-self.total // self.per_page))


@dataclass(frozen=True, slots=True)
class BackupsView:
    items: tuple[StoredBackup, ...]
    errors: tuple[tuple[str, str], ...]  # (store, message)
    stores: tuple[str, ...]
    series: tuple[str, str] | None  # (database, environment) of the configured database


# -- the source ------------------------------------------------------------------------------------


class Source:
    """The configured database, models and stores, read on demand (thread-safe: pages run in threads)."""

    def __init__(self, loaded: Loaded, target: db.Database) -> None:
        self.loaded = loaded
        self.settings: Settings = loaded.settings
        self.target = target
        self._metadata: MetaData | None = None
        self._models: tuple[MetaData, engine.Models] | None = None
        self._imported: dict[str, tuple[Path, tuple[int, int] | None]] = {}  # project modules of the import
        self._lock = threading.Lock()

    @property
    def statement_timeout(self) -> float:
        configured = self.settings.statement_timeout
        return min(configured, STATEMENT_TIMEOUT) if configured > 0 else STATEMENT_TIMEOUT

    @property
    def schemas(self) -> list[str] | None:
        return list(self.settings.include_schemas) or None

    @contextlib.contextmanager
    def read_only(self) -> Iterator[psycopg.Connection]:
        """A connection on which every transaction is read-only, with short timeouts."""
        with db.session(
            self.target, self.settings, application_name=APPLICATION_NAME, attempts=CONNECT_ATTEMPTS
        ) as conn:
            conn.execute("SET default_transaction_read_only = on")
            db.set_timeouts(conn, lock_timeout=LOCK_TIMEOUT, statement_timeout=self.statement_timeout)
            with self.patience():
                yield conn

    @contextlib.contextmanager
    def patience(self) -> Iterator[None]:
        """Lock and statement timeouts, missing privileges and failed reads as a page saying what happened,
        rather than as "database unavailable" (which is kept for connections that fail)."""
        try:
            yield
        except psycopg.errors.LockNotAvailable:
            raise Busy(
                f"Another session holds a lock on something this page reads in {self.target.display}, "
                f"and it was not released within {seconds(LOCK_TIMEOUT)} (a migration, a restore or a long "
                "maintenance command may be running).",
                "Reload the page once it has finished; the studio never waits long for locks, so it cannot "
                "hold anybody up.",
            ) from None
        except psycopg.errors.QueryCanceled:
            raise Busy(
                f"Reading this page took longer than the studio's statement timeout "
                f"({seconds(self.statement_timeout)}) on {self.target.display}.",
                "The database may be under heavy load, or the table is large and the sort column has no index: "
                "sort by the primary key (the default) or try again later.",
            ) from None
        except psycopg.errors.InsufficientPrivilege as exc:
            said = db.explain(exc, self.target)
            raise NotPermitted(
                said.message,
                "Grant this user SELECT on what the page shows (the studio only reads), or open the studio as a "
                "user who may read it.",
            ) from None
        except psycopg.DatabaseError as exc:
            if isinstance(exc, psycopg.OperationalError):  # the connection went away: explained as unavailable
                raise
            said = db.explain(exc, self.target)
            raise ReadFailed(said.message, said.hint) from None

    def check(self) -> None:
        """Connect once (raises the same error a page would show)."""
        with self.read_only() as conn:
            conn.execute("SELECT 1")

    # -- schema ------------------------------------------------------------------------------------

    def schema(self) -> Schema:
        with self.read_only() as conn:
            return engine.inspect_current(conn, self.settings).sorted()

    def table(self, schema: Schema, name: tuple[str, str]) -> Table:
        table = schema.table(*name)
        if table is None:
            raise NotFound(
                f"There is no table {name[0]}.{name[1]} in {self.target.display}.",
                "It may have been dropped or renamed; pick one from the table list.",
            )
        return table

    # -- data --------------------------------------------------------------------------------------

    def rows(
        self,
        table: Table,
        *,
        page: int = 1,
        per_page: int = 50,
        sort: str | None = None,
        descending: bool = False,
    ) -> Rows:
        """A page of the table's rows, read-only, each value cut to VALUE_PREVIEW_CHARS characters.

        Ordered by `sort` when it names a column whose type can be ordered, else by the primary key, else
        as stored. Names are quoted with `sql.Identifier` and values come back as text, rendered escaped
        by the templates.
        """
        columns = tuple(c.name for c in table.columns)
        default = table.primary_key.columns if table.primary_key else ()
        sorted_by = sort is not None and sort in columns
        order: tuple[str, ...] = (sort,) if sorted_by and sort is not None else default
        descending = descending and sorted_by
        select = sql.SQL(", ").join(
            sql.SQL("left({}::text, {})").format(sql.Identifier(c), sql.Literal(VALUE_PREVIEW_CHARS + 1))
            for c in columns
        )
        base = sql.SQL("SELECT {} FROM {}").format(
            select if columns else sql.SQL("NULL"), sql.Identifier(table.schema, table.name)
        )
        window = sql.SQL(" LIMIT {} OFFSET {}").format(sql.Literal(per_page + 1), sql.Literal((page - 1) * per_page))

        def query(order: tuple[str, ...], descending: bool) -> sql.Composed:
            if not order:
                return base + window
            direction = sql.SQL(" DESC") if descending else sql.SQL("")
            keys = sql.SQL(", ").join(sql.SQL("{}{}").format(sql.Identifier(c), direction) for c in order)
            return base + sql.SQL(" ORDER BY {}").format(keys) + window

        total = None
        unsortable = None
        with self.read_only() as conn, conn.transaction():
            conn.execute("SET TRANSACTION READ ONLY")
            try:
                with conn.transaction():  # a savepoint: the fallback below runs in the same transaction
                    fetched = conn.execute(query(order, descending)).fetchall()
            except psycopg.errors.UndefinedFunction:  # json, point, xml...: the type has no ordering
                if not sorted_by:
                    raise
                unsortable, order, descending = order[0], default, False
                fetched = conn.execute(query(order, descending)).fetchall()
            if table.size_bytes <= EXACT_COUNT_MAX_BYTES:
                counted = conn.execute(
                    sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table.schema, table.name))
                ).fetchone()
                total = int(counted[0]) if counted else None
        rows = tuple(tuple(row) if columns else () for row in fetched[:per_page])
        return Rows(columns, rows, page, per_page, len(fetched) > per_page, total, order, descending, unsortable)

    # -- overview and drift ------------------------------------------------------------------------

    def overview(self) -> Overview:
        settings = self.settings
        app_version, problem = settings.app_version, None
        if app_version is not None:
            try:
                versions.parse_version(app_version, self.loaded.source_of("app_version"))
            except ConfigError as exc:
                problem, app_version = exc.message, None
        with self.read_only() as conn:
            inv = inventory.take(conn, self.schemas)
            has_table = versions.table_columns(conn) is not None
            latest = versions.latest(conn) if has_table else None
        db_version = latest.schema_version if latest else None
        relation = None
        if app_version and db_version:
            try:
                relation = str(
                    versions.relation(
                        versions.parse_version(app_version, "the app version"),
                        versions.parse_version(db_version, f"schema_versions row {latest.id if latest else '?'}"),
                    )
                )
            except ConfigError as exc:
                problem = exc.message
        elif app_version:
            relation = str(versions.Relation.UNRECORDED)
        return Overview(
            database=self.target.display,
            environment=settings.env,
            app_version=app_version,
            app_version_source=self.loaded.source_of("app_version"),
            app_version_problem=problem,
            database_version=db_version,
            last_updated=latest.applied_at if latest else None,
            relation=relation,
            versions_table=has_table,
            inventory=inv,
            models=self.models_state(),
        )

    def models_state(self) -> ModelsState:
        if not self.settings.models:
            return ModelsState(configured=False)
        try:
            prepared = self.drift(measure=False)
        except ConfigError as exc:
            return ModelsState(configured=True, error=f"{exc.message} {exc.hint or ''}".strip())
        plan = prepared.plan
        return ModelsState(
            configured=True,
            in_sync=prepared.matches,
            left_out=len(prepared.model_errors) + len(prepared.unmanaged_declared),
            changes=plan.change_count,
            statements=len(plan.statements),
            hazards=tuple(sorted(str(k) for k in plan.kinds())),
        )

    def metadata(self) -> MetaData:
        """The models' MetaData, imported again when a project module that import loaded has changed on
        disk since (edit the models, reload the page). A failure is not remembered either: fixing the
        models and reloading is enough."""
        with self._lock:
            if self._metadata is not None and not self._models_edited():
                return self._metadata
            for name in self._imported:  # every project module of the last import, so none keeps stale state
                sys.modules.pop(name, None)
            importlib.invalidate_caches()
            self._metadata, self._models, self._imported = None, None, {}
            before = set(sys.modules)
            try:
                self._metadata = engine.load_metadata(self.settings)
            finally:
                self._imported = _project_modules(set(sys.modules) - before, self.settings.project_dir)
            return self._metadata

    def _models_edited(self) -> bool:
        return any(_stamp(path) != stamp for path, stamp in self._imported.values())

    def models(self) -> engine.Models:
        """The models' schema, materialised once per import of the models (see `metadata`).

        The materialisation runs with the configured statement timeout rather than the studio's short
        one: it touches only scratch schemas, holds no lock on a live table, and is always rolled back.
        """
        metadata = self.metadata()
        with self._lock:
            if self._models is not None and self._models[0] is metadata:
                return self._models[1]
        with (
            db.session(
                self.target, self.settings, application_name=APPLICATION_NAME, attempts=CONNECT_ATTEMPTS
            ) as conn,
            self.patience(),
        ):
            db.set_timeouts(conn, lock_timeout=LOCK_TIMEOUT, statement_timeout=self.settings.statement_timeout)
            models = engine.load_models(conn, self.settings, metadata)
        with self._lock:
            self._models = (metadata, models)
        return models

    def drift(self, *, measure: bool = True) -> engine.Prepared:
        """The plan `schemasync diff` shows: the models' schema (`models`), then the live side inspected,
        compared, planned and measured on a read-only session."""
        models = self.models()
        with self.read_only() as conn:
            prepared = engine.prepare(conn, self.settings, models=models, measure=False)
            if measure and not prepared.plan.empty:
                plan = measure_facts(conn, prepared.plan, prepared.current, statement_timeout=self.statement_timeout)
                prepared = dataclasses.replace(prepared, plan=plan)
        return prepared

    # -- history -----------------------------------------------------------------------------------

    def history(self, limit: int) -> tuple[bool, list[versions.VersionRow]]:
        with self.read_only() as conn:
            exists = versions.table_columns(conn) is not None
            return exists, (versions.history(conn, limit) if exists else [])

    def snapshot_lookup(self, rows: list[versions.VersionRow]) -> Callable[[versions.VersionRow], Schema | None]:
        """Each row's recorded schema snapshot (one query), for what-changed on the history page."""
        with self.read_only() as conn:
            return snapshots.lookup(conn, rows)

    # -- backups -----------------------------------------------------------------------------------

    def backups(self) -> BackupsView:
        """Every backup in every store; a store that cannot be read is reported, not fatal to the page."""
        found = locate.listing(self.settings)
        return BackupsView(
            found.items,
            tuple((u.where, u.message) for u in found.unreadable),
            tuple(s.describe() for s in found.stores),
            locate.series(self.settings, dict(self.loaded.sources)),
        )

    def verify_backup(self, store_kind: str, location: str) -> tuple[StoredBackup, bool, str]:
        """Re-hash one listed backup against its manifest; only locations the stores list are accepted."""
        item = locate.listed(self.settings, store_kind, location)
        if item is not None:
            result = locate.verify(self.settings, item)
            return item, result.ok, result.detail
        raise NotFound(
            f"There is no backup at {location} in the {store_kind} store.",
            "It may have been pruned; pick one from the backups page.",
        )
