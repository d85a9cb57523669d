"""Settings: what to connect to, which models, which version, where backups go, how cautious to be.

Resolution order, highest first: command-line flags, environment variables, a `.env` file in the
project directory, `[tool.schemasync]` in the project's `pyproject.toml`, defaults. `describe()` says,
for every setting, where its value came from, so `schemasync config` can answer "why is it using that?".

Our own variables carry the `SCHEMASYNC_` prefix. The database URLs keep the names every other tool
uses (`DATABASE_URL`, `PROD_DATABASE_URL`, `PROD_DB_*`), and AWS credentials are left entirely to
boto3's own chain: we never read, store or print them.
"""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, BeforeValidator, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    InitSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from schemasync import secrets
from schemasync.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h|d)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
MAX_DURATION = 10 * 365 * 86400.0  # ten years: beyond any sensible wait, within what datetime arithmetic holds
PG_MAX_TIMEOUT = 2_147_483.647  # PostgreSQL's timeouts are an int of milliseconds


def parse_duration(value: object) -> float:
    """Seconds from `5`, `500ms`, `5s`, `2min`, `1h` or `30d`; plain numbers are seconds.

    TOML and the environment can spell values no timer can use (`1e400` is infinity, `nan`, a
    40-digit number, `true`): they are refused here, as bad settings, before any code does arithmetic
    with them.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; use a number of seconds or a value such as 5s, 2min, 1h")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(
                f"{value!r} is not a duration; use a number of seconds or a value such as 500ms, 5s, 2min, 1h, 30d"
            )
        seconds = float(match[1]) * _UNIT_SECONDS[(match[2] or "s").lower()]
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{value!r} is not a duration; use a number of seconds of 0 or more")
    if seconds > MAX_DURATION:
        raise ValueError(f"{value!r} is longer than ten years; use a shorter duration")
    return seconds


def _split_list(value: object) -> object:
    """Lists from the environment are comma-separated, which is friendlier than JSON in a shell."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


Duration = Annotated[float, BeforeValidator(parse_duration)]
PgTimeout = Annotated[float, BeforeValidator(parse_duration), Field(le=PG_MAX_TIMEOUT)]
NameList = Annotated[list[str], NoDecode, BeforeValidator(_split_list)]


def _aliases(name: str, *extra: str) -> AliasChoices:
    return AliasChoices(name, f"schemasync_{name}", *extra)


class Settings(BaseSettings):
    """Everything a command may need; commands read only what they use."""

    model_config = SettingsConfigDict(
        env_prefix="SCHEMASYNC_", extra="ignore", populate_by_name=True, validate_default=True
    )

    # Where and what
    project_dir: Path = Field(default_factory=Path.cwd, description="Directory holding the app's pyproject.toml")
    env: str = Field("development", description="Environment name recorded in schema_versions")
    database_url: SecretStr | None = Field(None, validation_alias=_aliases("database_url", "database_url"))
    prod_database_url: SecretStr | None = Field(None, validation_alias=AliasChoices("prod_database_url"))
    prod_db_host: str | None = Field(None, validation_alias=AliasChoices("prod_db_host"))
    prod_db_port: int = Field(5432, ge=1, le=65535, validation_alias=AliasChoices("prod_db_port"))
    prod_db_user: str | None = Field(None, validation_alias=AliasChoices("prod_db_user"))
    prod_db_pass: SecretStr | None = Field(None, validation_alias=AliasChoices("prod_db_pass"))
    prod_db_name: str | None = Field(None, validation_alias=AliasChoices("prod_db_name"))
    models: str | None = Field(None, description="module:attribute naming a SQLAlchemy MetaData or declarative base")
    entities: str | None = Field(
        None, description="module:attribute naming a list of alembic_utils entities (PGView, PGFunction, ...)"
    )
    dev_url: SecretStr | None = Field(
        None,
        validation_alias=_aliases("dev_url"),
        description="PostgreSQL database used only to materialise the models (else chosen: schema/devdb.py)",
    )
    app_version: str | None = None
    embedded_dir: Path = Path(".schemasync/pgdata")

    # Safety and timeouts
    connect_timeout: Duration = 5.0
    lock_timeout: PgTimeout = 5.0
    statement_timeout: PgTimeout = 600.0
    advisory_lock_timeout: Duration = 60.0
    lock_retries: int = Field(0, ge=0, le=20, description="Retries of a plan that hit lock_timeout")
    prune: bool = False
    concurrent_indexes: bool = False
    online: bool = Field(
        False, description="Plan lock-light forms of changes on existing tables (README: online plans)"
    )
    include_schemas: NameList = Field(default_factory=list)
    include_tables: NameList = Field(default_factory=list)
    exclude_tables: NameList = Field(default_factory=list)
    backup_before_sync: Literal["destructive", "always", "never"] = "destructive"
    owner: str | None = Field(
        None,
        description="Role that must own every object the models declare (ALTER ... OWNER TO); unset: owners not compared",
    )

    # Backups and storage
    backup_dir: Path = Path("backups")
    s3_bucket: str | None = None
    s3_prefix: str = "schemasync"
    s3_region: str | None = None
    s3_endpoint_url: str | None = None
    s3_sse: Literal["AES256", "aws:kms", "none"] = "AES256"
    s3_kms_key_id: str | None = None
    s3_addressing_style: Literal["auto", "path", "virtual"] = "auto"
    s3_multipart_threshold: int = Field(64 * 1024 * 1024, ge=5 * 1024 * 1024, le=5 * 1024**3)
    s3_max_concurrency: int = Field(8, ge=1, le=64)
    s3_multipart_chunksize: int = Field(
        16 * 1024 * 1024, ge=5 * 1024 * 1024, le=5 * 1024**3, description="Part size of uploads"
    )
    s3_retry_mode: Literal["standard", "adaptive"] = "standard"
    s3_max_attempts: int = Field(5, ge=1, le=20, description="Attempts of each S3 request (botocore's retries)")
    s3_upload_attempts: int = Field(3, ge=1, le=10, description="Attempts of a whole upload after a transient failure")
    s3_read_timeout: Duration = Field(60.0, gt=0, description="How long to wait for S3 to answer a request")
    pg_bin_dir: Path | None = Field(None, description="Directory holding pg_dump and pg_restore (else searched)")
    backup_keep: int = Field(10, ge=1, le=1_000_000)
    backup_max_age: Duration = 30 * 86400.0

    # Production workflow
    build_command: str | None = None
    verify_command: str | None = None
    health_check_url: str | None = None
    health_check_status: int = Field(200, ge=100, le=599)
    command_timeout: Duration = 600.0
    approval_timeout: Duration = 24 * 3600.0
    approval_poll_interval: Duration = 10.0
    approvers: NameList = Field(
        default_factory=list, description="Who may approve a production run or a restore (empty: anyone)"
    )
    separate_approver: bool = Field(False, description="The approver must not be the person who started the run")
    alembic_ini: Path | None = None

    @field_validator("env")
    @classmethod
    def _check_env(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9_-]{0,19}", value):
            raise ValueError(
                "use lowercase letters, digits, '-' or '_', at most 20 characters (for example production)"
            )
        return value

    @field_validator("models", "entities")
    @classmethod
    def _check_models(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[\w.]+:[\w.]+", value.strip()):
            raise ValueError("use module:attribute, for example myapp.models:Base")
        return value.strip() if value else value

    @field_validator("owner")
    @classmethod
    def _check_owner(cls, value: str | None) -> str | None:
        """A role's name as the catalog stores it (case kept: it is quoted where used); blank means unset."""
        if value is None or not value.strip():
            return None
        if len(value.strip().encode()) > 63:
            raise ValueError("a role name is at most 63 bytes")
        return value.strip()

    @field_validator("health_check_url", "s3_endpoint_url")
    @classmethod
    def _check_http_url(cls, value: str | None) -> str | None:
        """Only http(s): urllib would also open file:// and ftp:// URLs, and boto3 needs an http endpoint."""
        if value is None or not value.strip():
            return None
        if urlsplit(value.strip()).scheme.lower() not in ("http", "https"):
            raise ValueError("use an http:// or https:// URL")
        return value.strip()

    @property
    def is_production(self) -> bool:
        return self.env == "production"


FLAG_NAMES: dict[str, str] = {
    "database_url": "--database-url",
    "env": "--env",
    "models": "--models",
    "dev_url": "--dev-url",
    "app_version": "--app-version",
    "project_dir": "--project-dir",
    "prune": "--prune",
    "online": "--online",
    "lock_timeout": "--lock-timeout",
    "statement_timeout": "--statement-timeout",
    "backup_dir": "--backup-dir",
}


@dataclass(frozen=True, slots=True)
class Loaded:
    """Settings plus where each value came from, for `schemasync config` and error messages."""

    settings: Settings
    sources: Mapping[str, str]

    def source_of(self, name: str) -> str:
        return self.sources.get(name, "default")


def _env_names(name: str) -> list[str]:
    field = Settings.model_fields[name]
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice).upper() for choice in alias.choices]
    return [f"SCHEMASYNC_{name.upper()}"]


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"Could not read {path}: it is not UTF-8 text (byte {exc.start}: {exc.object[exc.start : exc.start + 1]!r}).",
            "TOML files are UTF-8; save it as UTF-8 and run the command again.",
        ) from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            f"Could not read {path}: {exc}.", "Fix the file's TOML syntax and run the command again."
        ) from exc


def _require_utf8(path: Path) -> None:
    """Refuse a settings file that is not UTF-8 with a config error (the readers would raise a decode error)."""
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"Could not read {path}: it is not UTF-8 text (byte {exc.start}).",
            "Save it as UTF-8 and run the command again.",
        ) from None
    except OSError as exc:
        raise ConfigError(f"Could not read {path}: {exc}.", "Check the file and run the command again.") from None


def _table(document: dict[str, Any], *keys: str, path: Path) -> dict[str, Any]:
    """`document[keys[0]][keys[1]]...`, or {} when absent; a ConfigError when one of them is not a table."""
    node: Any = document
    for depth, key in enumerate(keys):
        node = node.get(key, {})
        if not isinstance(node, dict):
            name = ".".join(keys[: depth + 1])
            raise ConfigError(
                f"In {path}, {name} is not a table (it is {str(node)[:40]!r}).",
                f"Write it as a [{name}] table (or remove it) and run the command again.",
            )
    return node


def load_settings(flags: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Loaded:
    """Resolve settings from flags, environment, `.env` and pyproject.toml; raise ConfigError on bad values."""
    flags = {key: value for key, value in (flags or {}).items() if value is not None}
    environ = os.environ if environ is None else environ
    project_dir = Path(flags.get("project_dir") or environ.get("SCHEMASYNC_PROJECT_DIR") or Path.cwd())
    pyproject = project_dir / "pyproject.toml"
    dotenv = project_dir / ".env"
    sources: dict[str, str] = {}
    if dotenv.is_file():
        _require_utf8(dotenv)
    try:
        init = InitSettingsSource(Settings, {**flags, "project_dir": project_dir})
        env_source = EnvSettingsSource(Settings)
        env_source.env_vars = {key.lower(): value for key, value in environ.items()}
        chain: list[PydanticBaseSettingsSource] = [init, env_source]
        if dotenv.is_file():
            chain.append(DotEnvSettingsSource(Settings, env_file=dotenv))
        table = _project_table(pyproject)
        merged: dict[str, Any] = dict(table)
        for source in reversed(chain):
            merged.update({k: v for k, v in source().items() if v is not None})
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        raise _config_error(exc, flags, environ) from None

    dotenv_keys = {k.lower() for k in _dotenv_keys(dotenv)}
    for name in Settings.model_fields:
        if name in flags:
            sources[name] = f"flag {FLAG_NAMES.get(name, '--' + name.replace('_', '-'))}"
        elif found := next((n for n in _env_names(name) if n in environ or n.lower() in environ), None):
            sources[name] = f"environment {found}"
        elif found := next((n for n in _env_names(name) if n.lower() in dotenv_keys), None):
            sources[name] = f".env {found}"
        elif name in table:
            sources[name] = "pyproject.toml [tool.schemasync]"
    if "project_dir" not in sources:
        sources["project_dir"] = "current directory"

    if settings.app_version is None:
        version, origin = detect_app_version(project_dir)
        if version is not None:
            settings = settings.model_copy(update={"app_version": version})
            sources["app_version"] = origin
    for secret in (settings.database_url, settings.prod_database_url, settings.prod_db_pass, settings.dev_url):
        if secret is not None:
            _register_url_secret(secret.get_secret_value())
    for url in (settings.health_check_url, settings.s3_endpoint_url):  # may carry user:password@ or ?token=
        if url is not None:
            secrets.register_url(url)
    return Loaded(settings, sources)


def _project_table(pyproject: Path) -> dict[str, Any]:
    """`[tool.schemasync]` of the project's pyproject.toml, with dashed keys accepted as underscores."""
    if not pyproject.is_file():
        return {}
    table = _table(_read_toml(pyproject), "tool", "schemasync", path=pyproject)
    return {key.replace("-", "_"): value for key, value in table.items()}


def _dotenv_keys(path: Path) -> list[str]:
    if not path.is_file():
        return []
    keys = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip().removeprefix("export ")
        if line and not line.startswith("#") and "=" in line:
            keys.append(line.split("=", 1)[0].strip())
    return keys


def _register_url_secret(value: str) -> None:
    if "://" in value:
        secrets.register_url(value)
    else:
        secrets.register(value)


def _config_error(exc: ValidationError, flags: Mapping[str, Any], environ: Mapping[str, str]) -> ConfigError:
    problems = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "?"
        where = FLAG_NAMES.get(name) if name in flags else None
        if where is None and name in Settings.model_fields:
            where = next((n for n in _env_names(name) if n in environ), None) or f"setting {name!r}"
        shown = (
            "***" if "secret" in str(error.get("type", "")) or "pass" in name or "url" in name else error.get("input")
        )
        problems.append(f"{where or name} = {shown!r}: {error['msg'].removeprefix('Value error, ')}")
    return ConfigError(
        "Invalid configuration: " + "; ".join(problems) + ".", "Correct the value and run the command again."
    )


def detect_app_version(project_dir: Path) -> tuple[str | None, str]:
    """The app's version: `[project].version` of pyproject.toml, else `version` of package.json."""
    pyproject = project_dir / "pyproject.toml"
    if pyproject.is_file():
        version = _table(_read_toml(pyproject), "project", path=pyproject).get("version")
        if version is not None:
            return str(version), "pyproject.toml [project].version"
    package_json = project_dir / "package.json"
    if package_json.is_file():
        try:
            version = json.loads(package_json.read_text(encoding="utf-8")).get("version")
        except (OSError, ValueError, AttributeError) as exc:
            raise ConfigError(f"Could not read {package_json}: {exc}.", "Fix the file or pass --app-version.") from exc
        if version is not None:
            return str(version), "package.json version"
    return None, "not found"


def describe(loaded: Loaded) -> list[tuple[str, str, str]]:
    """(name, value with secrets masked, source) for every setting, in declaration order."""
    rows = []
    for name in Settings.model_fields:
        value = getattr(loaded.settings, name)
        if isinstance(value, SecretStr):
            shown = secrets.scrub(value.get_secret_value()) if "://" in value.get_secret_value() else secrets.MASK
        elif value is None or value == []:
            shown = ""
        elif isinstance(value, list):
            shown = ", ".join(value)
        else:
            shown = str(value)
        rows.append((name, secrets.scrub(shown), loaded.source_of(name)))
    return rows
