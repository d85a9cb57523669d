"""The Typer application, the common options every command shares, and error handling at the edge.

Commands live in sibling modules grouped by job (`info`, `schema`, `backups`, `operators`...), each
registering on `app`. Heavy imports (SQLAlchemy, Prefect, boto3) happen inside the commands that need
them, so `schemasync --help` and `status` stay fast.
"""

from __future__ import annotations

import functools
import inspect
import logging
import typing
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
import typer.core
from rich.console import Console
from rich.markup import escape

from schemasync import secrets
from schemasync.config import Loaded, load_settings
from schemasync.errors import SchemasyncError

# The order `--help` lists commands in: the everyday looks first, then changing, backups, production, code.
# Commands register from their own modules in import order; this keeps the help in the order people need.
HELP_ORDER = (
    "status", "check", "diff", "drift", "history", "compare", "snapshots", "studio", "config",
    "setup", "sync", "push", "snapshot",
    "backup", "backups", "restore",
    "production", "runs", "approve", "reject",
    "generate", "introspect",
)  # fmt: skip


class _OrderedGroup(typer.core.TyperGroup):
    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        rank = {name: i for i, name in enumerate(HELP_ORDER)}
        return sorted(names, key=lambda name: (rank.get(name, len(rank)), name))


app = typer.Typer(
    name="schemasync",
    cls=_OrderedGroup,
    help="Keep a PostgreSQL schema in step with SQLAlchemy models, safely.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
_state = {"debug": False}

F = TypeVar("F", bound=Callable[..., Any])

# Options shared by every command that reads settings; declared once, added by @uses_settings.
_COMMON: list[inspect.Parameter] = [
    inspect.Parameter(
        "database_url",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            str | None,
            typer.Option(
                "--database-url",
                help="PostgreSQL URL (else DATABASE_URL; else the embedded server).",
                show_default=False,
                rich_help_panel="Connection",
            ),
        ],
    ),
    inspect.Parameter(
        "env",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            str | None,
            typer.Option(
                "--env",
                help="Environment name; 'production' reads PROD_DATABASE_URL / PROD_DB_*.",
                show_default=False,
                rich_help_panel="Connection",
            ),
        ],
    ),
    inspect.Parameter(
        "models",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            str | None,
            typer.Option(
                "--models",
                help="module:attribute of the SQLAlchemy MetaData or declarative base.",
                show_default=False,
                rich_help_panel="Project",
            ),
        ],
    ),
    inspect.Parameter(
        "app_version",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            str | None,
            typer.Option(
                "--app-version",
                help="App version (else pyproject.toml or package.json).",
                show_default=False,
                rich_help_panel="Project",
            ),
        ],
    ),
    inspect.Parameter(
        "project_dir",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            str | None,
            typer.Option(
                "--project-dir",
                help="Directory of the app's pyproject.toml (default: current).",
                show_default=False,
                rich_help_panel="Project",
            ),
        ],
    ),
    inspect.Parameter(
        "debug",
        inspect.Parameter.KEYWORD_ONLY,
        default=False,
        annotation=Annotated[
            bool, typer.Option("--debug", help="Show debug logs and tracebacks.", rich_help_panel="Output")
        ],
    ),
]


# `--dev-url`, on the commands that read the models' schema (`schema/devdb.py`), declared once like the others.
_DEV_URL = inspect.Parameter(
    "dev_url",
    inspect.Parameter.KEYWORD_ONLY,
    default=None,
    annotation=Annotated[
        str | None,
        typer.Option(
            "--dev-url",
            help="PostgreSQL URL of a database used only to materialise the models (else SCHEMASYNC_DEV_URL; "
            "else chosen: see `schemasync config`).",
            show_default=False,
            rich_help_panel="Connection",
        ),
    ],
)


@typing.overload
def uses_settings(fn: F) -> F: ...
@typing.overload
def uses_settings(*, dev_url: bool) -> Callable[[F], F]: ...
def uses_settings(fn: F | None = None, *, dev_url: bool = False) -> F | Callable[[F], F]:
    """Give a command the common options and call it with `loaded=` resolved settings instead.

    `@uses_settings(dev_url=True)` also gives it `--dev-url`: the commands that look at the models.
    """
    if fn is None:
        return functools.partial(_with_settings, dev_url=dev_url)  # type: ignore[return-value]
    return _with_settings(fn, dev_url=dev_url)


def _with_settings(fn: F, *, dev_url: bool) -> F:
    signature = inspect.signature(fn)
    hints = typing.get_type_hints(fn, include_extras=True)  # resolve string annotations for Typer
    own = [
        p.replace(annotation=hints.get(p.name, p.annotation))
        for p in signature.parameters.values()
        if p.name != "loaded"
    ]
    common_parameters = [*_COMMON, _DEV_URL] if dev_url else _COMMON
    names = {p.name for p in common_parameters}

    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> Any:
        common = {name: kwargs.pop(name) for name in names}
        if common.pop("debug"):
            enable_debug()
        loaded = load_settings(common)
        return fn(loaded=loaded, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=[*own, *common_parameters], return_annotation=None)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in [*own, *common_parameters]}
    return wrapper  # type: ignore[return-value]


def enable_debug() -> None:
    _state["debug"] = True
    logging.getLogger("schemasync").setLevel(logging.DEBUG)


class _Notices(logging.Handler):
    """Engine log records at INFO and above, one line each on stderr; debug detail under --debug."""

    def emit(self, record: logging.LogRecord) -> None:
        message = secrets.scrub(record.getMessage())
        style = {logging.WARNING: "yellow", logging.ERROR: "red"}.get(record.levelno, "dim")
        prefix = "" if record.levelno < logging.WARNING else f"{record.levelname.lower()}: "
        err.print(f"{prefix}{message}", style=style, markup=False, soft_wrap=True)


def setup_logging() -> None:
    logger = logging.getLogger("schemasync")
    if not any(isinstance(h, _Notices) for h in logger.handlers):
        logger.addHandler(_Notices())
    logger.setLevel(logging.INFO)
    logger.propagate = False


def fail(error: SchemasyncError) -> None:
    """Print a user-facing error as one paragraph and exit with its code."""
    text = secrets.scrub(error.message)
    err.print(
        f"[bold red]Error:[/] {escape_markup(text)}"
        + (f" {escape_markup(secrets.scrub(error.hint))}" if error.hint else ""),
        soft_wrap=True,
    )
    raise SystemExit(int(error.exit_code))


def escape_markup(text: str) -> str:
    return escape(text)


def loaded_debug() -> bool:
    return _state["debug"]


__all__ = ["Loaded", "app", "err", "fail", "out", "uses_settings"]
