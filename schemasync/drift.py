"""Drift: does each database of a fleet still match its models? Targets, one check, the results table.

A *target* names a database (by where its URL comes from, never by a URL holding a password), its
models and its environment. `schemasync drift` and the Prefect flow `drift-check` both parse
targets here, check each with `check_target`, and report with `table_rows` / `plan_markdown` /
`outcome`, so the CLI and the flow say the same thing about the same fleet.

Choices:
- A URL reaches us from an environment variable (`url_env`), a Prefect Secret block (`url_secret`,
  read by the caller through `read_secret`: the engine never imports Prefect), or `url` when it holds
  no password (trust or peer authentication, `~/.pgpass`, `PGPASSWORD`). A `url` (or any other field)
  with a password is refused before anything is checked: targets files get committed, and Prefect
  stores every run's parameters in clear text.
- A check never writes: versions, inspection and the models' schema (materialised in a dev database,
  `schema/devdb.py`, once per models and server major for the whole fleet) and the plan with its hazards. The rows behind hazards
  are not counted (no table scans on a schedule); `diff` counts them.
- Drift means the *schema* differs from the models. The app and database versions are reported
  beside it but a version gap with an identical schema is not drift (`sync` records such a version).
  Models that could not be compared whole are never "in sync" either: a declared object PostgreSQL
  cannot create (a model error) or that schemasync does not manage (unmanaged-declared) makes the
  target drifted, with each such object listed, as `check` exits 2 for them.
- One target's failure is its own row (`unreachable` when no session could be opened, `error`
  otherwise); it never stops the others. Exit code: 2 when any target drifted (the stronger signal:
  that database needs a sync whatever the others do), else 1 when any could not be checked, else 0.
- Connections: one per target, with the settings' connect timeout; a fixed number of round trips per
  target whatever its size (inspection and materialisation are constant-round-trip).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg

from schemasync import db, engine, secrets
from schemasync.config import Settings, load_settings
from schemasync.errors import ConfigError, ConnectionFailed, ExitCode, SchemasyncError
from schemasync.history import versions
from schemasync.plan import HazardKind
from schemasync.safetext import escape_markdown, fence
from schemasync.schema import devdb
from schemasync.schema import target as models_target
from schemasync.schema.ddl import compile_models

if TYPE_CHECKING:
    from sqlalchemy import MetaData

    from schemasync.schema.ddl import ModelDDL

log = logging.getLogger(__name__)

TARGET_KEYS = ("name", "url_env", "url_secret", "url", "models", "env", "project_dir", "app_version")
URL_KEYS = ("url_env", "url_secret", "url")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_ENV_VAR = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_BLOCK = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")  # Prefect block names: lowercase letters, digits, dashes
_CONNINFO_PASSWORD = re.compile(r"(?:^|\s)password\s*=", re.IGNORECASE)

ReadSecret = Callable[[str], str]


class DriftStatus(StrEnum):
    IN_SYNC = "in sync"
    DRIFTED = "drifted"
    UNREACHABLE = "unreachable"  # no session could be opened (down, refused, timed out, bad credentials)
    ERROR = "error"  # anything else: URL not configured, models that do not import, a failed query


@dataclass(frozen=True, slots=True)
class FleetTarget:
    """One database to check. Exactly one of url_env, url_secret, url says where its URL comes from."""

    name: str
    url_env: str | None = None
    url_secret: str | None = None
    url: str | None = None
    models: str | None = None  # None: the project's configured models
    env: str | None = None  # None: the project's configured environment
    project_dir: Path | None = None  # None: the current directory
    app_version: str | None = None  # None: the project's version (pyproject.toml, package.json)

    @property
    def url_origin(self) -> str:
        if self.url_env:
            return f"environment variable {self.url_env}"
        if self.url_secret:
            return f"Prefect Secret block {self.url_secret}"
        return f"the url of target {self.name}"

    def to_dict(self) -> dict[str, str]:
        """Plain values (no password can be in them: parsing refused it)."""
        return {k: str(v) for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True, slots=True)
class DriftResult:
    """What one check found, as plain values for the table, the JSON output and the artifacts."""

    target: str
    status: DriftStatus
    database: str = ""  # Database.display: user@host:port/dbname, never a password
    environment: str = ""
    models: str = ""
    app_version: str | None = None
    database_version: str | None = None
    versions: str | None = None  # versions.Relation, as text
    changes: int = 0
    destructive: tuple[str, ...] = ()  # facts of DELETES_DATA hazards
    summary: tuple[str, ...] = ()
    hazards: tuple[str, ...] = ()  # "KIND: fact"
    plan_sql: str = ""
    model_errors: tuple[str, ...] = ()  # declared objects PostgreSQL refused, with the database's copy
    unmanaged_declared: tuple[str, ...] = ()  # declared objects schemasync neither creates nor compares
    error: str | None = None
    hint: str | None = None
    seconds: float = 0.0

    @property
    def in_sync(self) -> bool | None:
        """True or False once compared; None when the target could not be checked."""
        if self.status in (DriftStatus.IN_SYNC, DriftStatus.DRIFTED):
            return self.status is DriftStatus.IN_SYNC
        return None

    @property
    def checked(self) -> bool:
        return self.in_sync is not None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = str(self.status)
        data["in_sync"] = self.in_sync
        data["seconds"] = round(self.seconds, 3)
        for key in ("destructive", "summary", "hazards", "model_errors", "unmanaged_declared"):
            data[key] = list(data[key])
        return data


# -- targets -------------------------------------------------------------------------------------


def has_password(text: str) -> bool:
    """True for a URL with a password (in the authority or as ?password=) or a conninfo password=."""
    value = text.strip()
    if "://" in value:
        try:
            split = urlsplit(value)
            if split.password:
                return True
            query = split.query
        except ValueError:
            return bool(re.search(r"://[^/@\s]*:[^/@\s]*@", value))
        return any(key.lower() == "password" and val for key, val in parse_qsl(query, keep_blank_values=True))
    return bool(_CONNINFO_PASSWORD.search(value))


def _register_password(text: str) -> None:
    """Make sure a password someone pasted is masked wherever it might be echoed later."""
    try:
        split = urlsplit(text.strip())
        if split.password:
            secrets.register(split.password)
            secrets.register(unquote(split.password))
        for key, val in parse_qsl(split.query, keep_blank_values=True):
            if key.lower() == "password":
                secrets.register(val)
    except ValueError:
        pass
    for match in re.finditer(r"password\s*=\s*(\S+)", text, re.IGNORECASE):
        secrets.register(match[1].strip("'\""))


def refuse_password(name: str, key: str, origin: str) -> ConfigError:
    return ConfigError(
        f"Target {name!r} ({origin}) has a database password in {key}: targets files get committed and Prefect "
        "stores every run's parameters in clear text, so schemasync refuses it and checked nothing.",
        'Put the URL in an environment variable where the check runs and name it (url_env = "SHOP_DATABASE_URL"), '
        'or store it in a Prefect Secret block and name that (url_secret = "shop-database-url"); '
        "a url without a password (trust authentication, ~/.pgpass, PGPASSWORD) may stay as url.",
    )


def parse_target(data: Mapping[str, Any], *, origin: str, base_dir: Path | None = None) -> FleetTarget:
    """A Target from plain values (a targets file entry, a flow parameter); ConfigError on anything off.

    Relative `project_dir` values are taken relative to `base_dir` (the targets file's directory).
    """
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{origin} is not a table of target settings (got {type(data).__name__}).",
            'Write each target as a table: name = "shop", url_env = "SHOP_DATABASE_URL", models = "app.models:Base".',
        )
    raw_name = data.get("name")
    label = raw_name if isinstance(raw_name, str) and raw_name.strip() else origin
    for key, value in data.items():  # the password check comes first: nothing else may echo it
        if isinstance(value, str) and has_password(value):
            _register_password(value)
            raise refuse_password(str(label), str(key), origin)
    unknown = sorted(str(k) for k in data if k not in TARGET_KEYS)
    if unknown:
        raise ConfigError(
            f"Target {label!r} ({origin}) has unknown setting(s): {', '.join(unknown)}.",
            f"A target takes {', '.join(TARGET_KEYS)}.",
        )
    values: dict[str, str | None] = {}
    for key in TARGET_KEYS:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(
                f"Target {label!r} ({origin}): {key} must be text, not {type(value).__name__}.",
                f'Quote the value, for example {key} = "...".',
            )
        values[key] = value.strip() if isinstance(value, str) and value.strip() else None
    name = values["name"]
    if name is None or not _NAME.fullmatch(name):
        raise ConfigError(
            f"Target {label!r} ({origin}) needs a name of letters, digits, '.', '_' or '-' (at most 63 characters)"
            + (f"; {name!r} is not one." if name else "."),
            'Name it after the database it checks, for example name = "shop-eu"; the name labels its row, '
            "artifact and event.",
        )
    sources = [key for key in URL_KEYS if values[key]]
    if len(sources) != 1:
        raise ConfigError(
            f"Target {name!r} ({origin}) must say where its database URL comes from with exactly one of "
            f"url_env, url_secret or url" + (f" (it gives {' and '.join(sources)})." if sources else "."),
            'Name an environment variable (url_env = "SHOP_DATABASE_URL") or a Prefect Secret block '
            '(url_secret = "shop-database-url").',
        )
    if values["url_env"] and not _ENV_VAR.fullmatch(values["url_env"] or ""):
        raise ConfigError(
            f"Target {name!r} ({origin}): url_env {values['url_env']!r} is not an environment variable name.",
            'url_env names the variable holding the URL, for example url_env = "SHOP_DATABASE_URL".',
        )
    if values["url_secret"] and not _BLOCK.fullmatch(values["url_secret"] or ""):
        raise ConfigError(
            f"Target {name!r} ({origin}): url_secret {values['url_secret']!r} is not a Prefect block name.",
            'url_secret names a Secret block (lowercase letters, digits and dashes), for example url_secret = "shop-db".',
        )
    if values["url"]:
        db.parse_url(values["url"], f"target {name} ({origin})")  # a ConfigError on a malformed URL
    project_dir = None
    if values["project_dir"]:
        project_dir = Path(values["project_dir"]).expanduser()
        if not project_dir.is_absolute() and base_dir is not None:
            project_dir = base_dir / project_dir
    return FleetTarget(
        name=name,
        url_env=values["url_env"],
        url_secret=values["url_secret"],
        url=values["url"],
        models=values["models"],
        env=values["env"],
        project_dir=project_dir,
        app_version=values["app_version"],
    )


def parse_targets(
    entries: Iterable[Mapping[str, Any]],
    *,
    origin: str,
    defaults: Mapping[str, Any] | None = None,
    base_dir: Path | None = None,
) -> list[FleetTarget]:
    """Targets from entries (each over `defaults`); refuses an empty list and repeated names."""
    defaults = dict(defaults or {})
    for key, value in defaults.items():
        if isinstance(value, str) and has_password(value):
            _register_password(value)
            raise refuse_password("defaults", str(key), origin)
    if "name" in defaults or any(key in defaults for key in URL_KEYS):
        raise ConfigError(
            f"The defaults in {origin} set {', '.join(k for k in ('name', *URL_KEYS) if k in defaults)}, which "
            "must differ per target.",
            "Give each target its own name and url_env (or url_secret); put shared models, env and project_dir in defaults.",
        )
    targets: list[FleetTarget] = []
    for i, entry in enumerate(entries, 1):
        where = f"{origin}, target {i}"
        merged = {**defaults, **entry} if isinstance(entry, Mapping) else entry
        targets.append(parse_target(merged, origin=where, base_dir=base_dir))
    if not targets:
        raise ConfigError(f"{origin} lists no targets.", "Add at least one target with a name and a url_env.")
    seen: set[str] = set()
    for target in targets:
        if target.name in seen:
            raise ConfigError(
                f"{origin} has two targets called {target.name!r}.",
                "Give every target its own name: it labels the target's row, artifact and event.",
            )
        seen.add(target.name)
    return targets


def load_targets(path: Path) -> list[FleetTarget]:
    """Targets from a TOML (`targets.toml`) or YAML file: `[defaults]` plus a `targets` list."""
    origin = str(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml"):
        raise ConfigError(
            f"The targets file {path} is neither TOML nor YAML (by its extension).",
            "Name it targets.toml or targets.yaml.",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"The targets file {path} does not exist.",
            "Check the path (relative paths start in the current directory).",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"Could not read the targets file {path}: {exc.strerror}.", "Check its permissions."
        ) from None
    if suffix == ".toml":
        try:
            document: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"The targets file {path} is not valid TOML: {exc}.", "Fix its syntax.") from None
    else:
        import yaml  # lazy: start-up (PyYAML: only a YAML targets file needs it)

        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            where = getattr(exc, "problem_mark", None)
            at = f" (line {where.line + 1})" if where is not None else ""
            raise ConfigError(
                f"The targets file {path} is not valid YAML{at}: {getattr(exc, 'problem', None) or exc}.",
                "Fix its syntax.",
            ) from None
    if not isinstance(document, Mapping) or not isinstance(document.get("targets"), list):
        example = (
            '[[targets]]\nname = "shop"\nurl_env = "SHOP_DATABASE_URL"'
            if suffix == ".toml"
            else "targets:\n  - name: shop\n    url_env: SHOP_DATABASE_URL"
        )
        raise ConfigError(
            f"The targets file {path} has no list of targets.",
            f"List them under targets, for example:\n{example}",
        )
    defaults = document.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        raise ConfigError(f"defaults in {path} is not a table.", "Write defaults as a table of target settings.")
    unknown = sorted(str(k) for k in document if k not in ("targets", "defaults"))
    if unknown:
        raise ConfigError(
            f"The targets file {path} has unknown top-level key(s): {', '.join(unknown)}.",
            "It takes targets (a list) and defaults (a table).",
        )
    return parse_targets(document["targets"], origin=origin, defaults=defaults, base_dir=path.resolve().parent)


# -- one check -----------------------------------------------------------------------------------


def resolve_database(
    target: FleetTarget, *, environ: Mapping[str, str] | None = None, read_secret: ReadSecret | None = None
) -> db.Database:
    """The target's database, from wherever its URL lives; ConfigError when it is not there."""
    environ = os.environ if environ is None else environ
    if target.url_env:
        value = environ.get(target.url_env)
        if not value or not value.strip():
            raise ConfigError(
                f"The environment variable {target.url_env} (the database URL of target {target.name!r}) is not set.",
                "Set it where the check runs (for a deployment: in the worker's environment or the deployment's "
                "job variables env), or point url_env at another variable.",
            )
        secrets.register(value if "://" not in value else None)
        _register_password(value)
    elif target.url_secret:
        if read_secret is None:
            raise ConfigError(
                f"Target {target.name!r} reads its URL from the Prefect Secret block {target.url_secret!r}, "
                "which this command cannot read.",
                "Configure a Prefect API (PREFECT_API_URL), or use url_env with an environment variable.",
            )
        value = read_secret(target.url_secret)
        _register_password(value)
    else:
        assert target.url is not None
        value = target.url
    return db.parse_url(value, target.url_origin)


def settings_for(target: FleetTarget, environ: Mapping[str, str] | None = None) -> Settings:
    """The target's settings: its project's configuration under the target's own models, env, version."""
    flags: dict[str, Any] = {
        "models": target.models,
        "env": target.env,
        "app_version": target.app_version,
        "project_dir": target.project_dir,
    }
    return load_settings(flags, environ).settings


_models_lock = threading.Lock()
_models: dict[tuple[str, str], tuple[MetaData, ModelDDL]] = {}


def models_for(settings: Settings) -> tuple[MetaData, ModelDDL]:
    """The models and their compiled DDL, once per process and models (importing rewrites sys.path, so one
    at a time; compiling is the CPU-heavy half of a warm check, so not once per database)."""
    key = (settings.models or "", str(settings.project_dir.resolve()))
    with _models_lock:
        if key not in _models:
            metadata = engine.load_metadata(settings)
            _models[key] = (metadata, compile_models(metadata))
        return _models[key]


def check_target(
    target: FleetTarget, *, environ: Mapping[str, str] | None = None, read_secret: ReadSecret | None = None
) -> DriftResult:
    """Check one target; every failure becomes its result (never raised), so a fleet check goes on."""
    started = time.monotonic()
    base = DriftResult(
        target=target.name, status=DriftStatus.ERROR, environment=target.env or "", models=target.models or ""
    )
    try:
        settings = settings_for(target, environ)
        base = replace(base, environment=settings.env, models=settings.models or "", app_version=settings.app_version)
        database = resolve_database(target, environ=environ, read_secret=read_secret)
    except SchemasyncError as exc:
        return _failed(base, DriftStatus.ERROR, exc, started)
    return check_database(database, settings, name=target.name, started=started)


def cache_dir(settings: Settings, database: db.Database) -> Path:
    """Where one database's desired schema is cached: a directory per database.

    The cache keeps its newest entries per directory, and its key includes the database (extensions
    differ between databases); one shared directory would keep a fleet larger than that limit
    forever cold. A directory per database keeps each one warm until the models change.
    """
    parts = database.parts
    where = f"{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{database.name}"
    return settings.project_dir / engine.CACHE_DIR / "drift" / hashlib.sha256(where.encode()).hexdigest()[:16]


def shared_cache_dir(settings: Settings) -> Path:
    """Where the desired schema of the models materialised in a dev database is cached, for every target.

    Its key holds the server major, search path and extensions (`devdb.DevChoice.key_material`), not
    the database, so the fleet's targets that agree on those share one entry.
    """
    return settings.project_dir / engine.CACHE_DIR / "drift" / "shared"


def check_database(
    database: db.Database, settings: Settings, *, name: str, started: float | None = None
) -> DriftResult:
    """Versions, diff and hazards of one database against the settings' models (writes nothing)."""
    started = time.monotonic() if started is None else started
    base = DriftResult(
        target=name,
        status=DriftStatus.ERROR,
        database=database.display,
        environment=settings.env,
        models=settings.models or "",
        app_version=settings.app_version,
    )
    try:
        metadata, ddl = models_for(settings)
        if settings.app_version is not None:
            versions.parse_version(settings.app_version, "the app version")
    except SchemasyncError as exc:
        return _failed(base, DriftStatus.ERROR, exc, started)
    try:
        conn = db.connect(database, settings)
    except ConnectionFailed as exc:
        return _failed(base, DriftStatus.UNREACHABLE, exc, started)
    try:
        try:
            db.set_timeouts(conn, lock_timeout=settings.lock_timeout, statement_timeout=settings.statement_timeout)
            latest = versions.latest(conn)
            # The models' schema from the cache or a materialisation; not engine.load_models, whose
            # `status` recall entry is one per project and would flip between the fleet's databases.
            # Materialised in a dev database, it is shared by every target of that server major
            # (one materialisation per models and major); in a target's scratch schemas, it is its own.
            dev = devdb.choose(conn, settings)
            where = cache_dir(settings, database) if dev.kind == devdb.SCRATCH else shared_cache_dir(settings)
            desired, _ = models_target.desired_keyed(conn, metadata, cache_dir=where, ddl=ddl, dev=dev)
            engine.warn(desired)
            models = engine.Models(desired, models_target.rename_hints(metadata))
            prepared = engine.prepare(conn, settings, models=models, measure=False)
        except psycopg.Error as exc:
            raise db.explain(exc, database) from exc
        finally:
            conn.close()
    except SchemasyncError as exc:
        return _failed(base, DriftStatus.ERROR, exc, started)
    db_version = latest.schema_version if latest else None
    relation = None
    if settings.app_version is not None:
        try:
            app = versions.parse_version(settings.app_version, "the app version")
            dbv = versions.parse_version(db_version, "schema_versions") if db_version else None
            relation = str(versions.relation(app, dbv))
        except ConfigError:
            relation = None  # an unparseable recorded version: shown as is, not compared
    plan = prepared.plan
    return replace(
        base,
        status=DriftStatus.IN_SYNC if prepared.matches else DriftStatus.DRIFTED,
        database_version=db_version,
        versions=relation,
        changes=len(prepared.diff.changes),
        destructive=tuple(h.fact for h in plan.hazards if h.kind is HazardKind.DELETES_DATA),
        summary=tuple(plan.summary),
        hazards=tuple(f"{h.kind.name}: {h.fact}" for h in plan.hazards),
        plan_sql=plan.sql() if not plan.empty else "",
        model_errors=tuple(held.describe() for held in prepared.model_errors),
        unmanaged_declared=tuple(u.describe() for u in prepared.unmanaged_declared),
        seconds=time.monotonic() - started,
    )


def _failed(base: DriftResult, status: DriftStatus, exc: SchemasyncError, started: float) -> DriftResult:
    return replace(
        base,
        status=status,
        error=secrets.scrub(exc.message),
        hint=secrets.scrub(exc.hint) if exc.hint else None,
        seconds=time.monotonic() - started,
    )


def check_targets(
    targets: Sequence[FleetTarget], *, environ: Mapping[str, str] | None = None, read_secret: ReadSecret | None = None
) -> list[DriftResult]:
    """Every target, one after another (the CLI; the flow fans the same calls out on a task runner)."""
    results = []
    for target in targets:
        log.info("Checking %s", target.name)
        results.append(check_target(target, environ=environ, read_secret=read_secret))
    return results


# -- reporting -----------------------------------------------------------------------------------

TABLE_COLUMNS = (
    "target",
    "database",
    "environment",
    "app version",
    "database version",
    "in sync",
    "changes",
    "destructive changes",
    "status",
)


def _yes_no(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def table_rows(results: Sequence[DriftResult]) -> list[dict[str, str]]:
    """One row per target, every value text (a Prefect table artifact; the CLI's table)."""
    rows = []
    for r in results:
        status = str(r.status) if r.error is None else f"{r.status}: {r.error}"
        rows.append(
            {
                "target": r.target,
                "database": r.database,
                "environment": r.environment,
                "app version": r.app_version or "",
                "database version": r.database_version or "",
                "in sync": _yes_no(r.in_sync),
                "changes": str(r.changes) if r.checked else "",
                "destructive changes": "; ".join(r.destructive),
                "status": secrets.scrub(status),
            }
        )
    return rows


def plan_markdown(result: DriftResult) -> str:
    """A drifted target's report: where, versions, what differs, hazards, and the plan as SQL."""
    lines = [
        f"# Drift on {escape_markdown(result.target)}",
        "",
        "| | |",
        "|---|---|",
        f"| database | {escape_markdown(result.database)} |",
        f"| environment | {escape_markdown(result.environment)} |",
        f"| models | {escape_markdown(result.models)} |",
        f"| app version | {escape_markdown(result.app_version or 'unknown')} |",
        f"| database version | {escape_markdown(result.database_version or 'none recorded')} |",
        f"| changes | {result.changes} ({len(result.destructive)} deleting data) |",
        "",
        "## What differs",
        "",
        *[f"- {escape_markdown(line)}" for line in result.summary],
    ]
    if result.model_errors:
        lines += [
            "",
            "## Model errors",
            "",
            "Declared, but PostgreSQL cannot create them as declared; left out of the plan, the database's copy kept:",
            "",
            *[f"- {escape_markdown(e)}" for e in result.model_errors],
        ]
    if result.unmanaged_declared:
        lines += [
            "",
            "## Declared but not managed",
            "",
            "Declared, but schemasync neither creates nor compares them, so nothing says the database has them:",
            "",
            *[f"- {escape_markdown(u)}" for u in result.unmanaged_declared],
        ]
    if result.hazards:
        lines += ["", "## Hazards", "", *[f"- {escape_markdown(h)}" for h in result.hazards]]
    if result.plan_sql:
        lines += [
            "",
            "## Plan",
            "",
            "What `schemasync sync` (or the production deployment) would run to bring the database in line:",
            "",
            fence(secrets.scrub(result.plan_sql), "sql"),
        ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class FleetOutcome:
    """The verdict over all targets: an exit code and one line saying why."""

    exit_code: ExitCode
    message: str
    drifted: tuple[str, ...] = field(default=())
    failed: tuple[str, ...] = field(default=())


def outcome(results: Sequence[DriftResult]) -> FleetOutcome:
    drifted = tuple(r.target for r in results if r.status is DriftStatus.DRIFTED)
    failed = tuple(r.target for r in results if not r.checked)
    in_sync = sum(1 for r in results if r.status is DriftStatus.IN_SYNC)
    n = len(results)
    parts = [f"{in_sync} in sync"]
    if drifted:
        parts.append(f"{len(drifted)} drifted ({', '.join(drifted)})")
    if failed:
        parts.append(f"{len(failed)} not checked ({', '.join(failed)})")
    message = f"{n} target{'s' if n != 1 else ''}: " + ", ".join(parts) + "."
    if drifted:
        code = ExitCode.DRIFT
    elif failed:
        code = ExitCode.ERROR
    else:
        code = ExitCode.OK
    return FleetOutcome(code, message, drifted, failed)


def report_json(results: Sequence[DriftResult]) -> dict[str, Any]:
    verdict = outcome(results)
    return {
        "targets": [r.to_dict() for r in results],
        "drifted": list(verdict.drifted),
        "not_checked": list(verdict.failed),
        "exit_code": int(verdict.exit_code),
        "summary": verdict.message,
    }


def slug(name: str) -> str:
    """A target name as Prefect artifact keys and resource ids want it: lowercase letters, digits, dashes."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "target"


__all__ = [
    "DriftResult",
    "DriftStatus",
    "FleetOutcome",
    "FleetTarget",
    "check_database",
    "check_target",
    "check_targets",
    "has_password",
    "load_targets",
    "outcome",
    "parse_target",
    "parse_targets",
    "plan_markdown",
    "report_json",
    "resolve_database",
    "slug",
    "table_rows",
]
