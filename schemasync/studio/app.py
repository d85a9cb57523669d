"""The Starlette application: routes, templates, static files, and the guards around every request.

Guards, outermost first:
- `Guard` answers only requests whose Host header names an address the studio was told to serve on
  (a web page on the internet cannot reach the studio through DNS rebinding), adds strict security
  headers (a Content-Security-Policy allowing our own scripts and styles only, no framing, no
  referrer), logs one scrubbed line per request on the `schemasync.studio` logger, and turns any
  unexpected exception into an error page: never a traceback, in the page or in the log.
- Errors the user can act on (`SchemasyncError`: database unreachable, models failing to import)
  render as a page with the message and the hint, with a status that says what kind of failure it is.
Templates autoescape everything, and every value printed goes through `secrets.scrub` (Jinja's
`finalize`), so a password cannot reach a page even from the data itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schemasync import __version__, safetext, secrets
from schemasync.errors import ConnectionFailed, SchemasyncError
from schemasync.studio import fmt, pages
from schemasync.studio import source as source_module
from schemasync.studio.source import Busy, NotFound, NotPermitted, Source

log = logging.getLogger("schemasync.studio")

LOOPBACK = ("127.0.0.1", "localhost", "::1")
LOGGED_TARGET_CHARS = 2000  # a request's path and query as logged; the rest is cut, after scrubbing
WILDCARDS = ("0.0.0.0", "::", "")  # noqa: S104 (names, not a bind)
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        b"base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


def _finalize(value: Any) -> Any:
    """Every `{{ value }}` in a template, scrubbed of registered secrets before it is escaped."""
    if value is None:
        return ""
    if isinstance(value, Markup):
        return Markup(secrets.scrub(str(value)))  # noqa: S704 (ours, already escaped; scrubbing adds only ***)
    if isinstance(value, str):
        return secrets.scrub(value)
    return value


def make_templates() -> Jinja2Templates:
    env = Environment(
        loader=PackageLoader("schemasync.studio", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(fmt.FILTERS)
    env.globals.update(
        version=__version__, restore_command=fmt.restore_command, preview_chars=source_module.VALUE_PREVIEW_CHARS
    )
    return Jinja2Templates(env=env)


def host_allowed(header: str, allowed: Iterable[str]) -> bool:
    """Whether a Host header (`name`, `name:port`, `[v6]:port`) names one of the allowed hosts."""
    host = header.strip().lower()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host in allowed


def allowed_hosts(bind: str) -> tuple[str, ...] | None:
    """Hosts the studio answers to when serving on `bind`; None means any (an explicit wildcard bind)."""
    if bind in WILDCARDS:
        return None
    return tuple(dict.fromkeys([*LOOPBACK, bind.strip("[]").lower()]))


class Guard:
    """Host check, security headers, one log line per request, and a page for unexpected errors."""

    def __init__(self, app: ASGIApp, *, hosts: tuple[str, ...] | None, templates: Jinja2Templates) -> None:
        self.app = app
        self.hosts = hosts
        self.templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = {"code": 500, "sent": False}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = message["status"], True
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        request = Request(scope)
        host = request.headers.get("host", "")
        if self.hosts is not None and not host_allowed(host, self.hosts):
            response: Response = HTMLResponse(
                "<h1>421 Misdirected Request</h1><p>schemasync studio only answers requests addressed to "
                "the host it serves on.</p>",
                status_code=421,
            )
            await response(scope, receive, send_with_headers)
            self._log(request, 421, started)
            return
        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            log.error(
                "unexpected %s while serving %s: %s",
                type(exc).__name__,
                logged_target(request),
                safetext.printable(secrets.scrub(str(exc))),
            )
            log.debug("traceback", exc_info=True)
            if not status["sent"]:
                page = self.templates.TemplateResponse(
                    request,
                    "error.html",
                    {
                        "title": "Unexpected error",
                        "message": safetext.printable(secrets.scrub(f"Unexpected {type(exc).__name__}: {exc}")),
                        "hint": "This is a bug in schemasync studio; run it with --debug and report what the log says.",
                        "status": 500,
                        "active": "",
                        "database": "",
                    },
                    status_code=500,
                )
                await page(scope, receive, send_with_headers)
        self._log(request, int(status["code"]), started)

    @staticmethod
    def _log(request: Request, code: int, started: float) -> None:
        elapsed = (time.monotonic() - started) * 1000
        log.info("%s %s %s (%.0f ms)", safetext.printable(request.method), logged_target(request), code, elapsed)


def logged_target(request: Request) -> str:
    """The request's path and query for the log: scrubbed, control characters visible, cut to a length.

    The path arrives percent-decoded, so `%1b` or `%0a` in a URL would otherwise put a terminal escape
    or a forged line into the log. Its length is bounded by the HTTP server (h11 refuses request heads
    over 16 KiB) and `scrub` is linear, so this costs microseconds on the event loop; it is scrubbed
    before it is cut, so a cut can never leave half a secret unmasked.
    """
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    shown = safetext.printable(secrets.scrub(target))
    return shown if len(shown) <= LOGGED_TARGET_CHARS else shown[:LOGGED_TARGET_CHARS] + "..."


def create_app(source: Source, *, bind: str = "127.0.0.1") -> Starlette:
    """The studio for `source`, answering requests addressed to `bind` (and loopback)."""
    templates = make_templates()

    async def on_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SchemasyncError)
        if isinstance(exc, NotFound):
            status, title = 404, "Not found"
        elif isinstance(exc, NotPermitted):
            status, title = 403, "Permission denied"
        elif isinstance(exc, Busy):
            status, title = 503, "Database busy"
        elif isinstance(exc, ConnectionFailed):
            status, title = 503, "Database unavailable"
        else:
            status, title = 500, "Cannot show this page"
        log.log(logging.INFO if status == 404 else logging.WARNING, "%s", secrets.scrub(exc.message))
        return templates.TemplateResponse(
            request,
            "error.html",
            {
                "title": title,
                "message": exc.message,
                "hint": exc.hint or "",
                "status": status,
                "active": request.scope.get("studio_active", ""),
                "database": source.target.display,
                "environment": source.settings.env,
            },
            status_code=status,
        )

    async def not_found(request: Request, exc: Exception) -> Response:
        return templates.TemplateResponse(
            request,
            "error.html",
            {
                "title": "Not found",
                "message": f"There is no page at {request.url.path}.",
                "hint": "Use the navigation above.",
                "status": 404,
                "active": "",
                "database": source.target.display,
                "environment": source.settings.env,
            },
            status_code=404,
        )

    routes = [
        Route("/", pages.overview, name="overview"),
        Route("/tables", pages.tables, name="tables"),
        Route("/table", pages.table, name="table"),
        Route("/relationships", pages.relationships, name="relationships"),
        Route("/drift", pages.drift, name="drift"),
        Route("/history", pages.history, name="history"),
        Route("/backups", pages.backups, name="backups"),
        Route("/backups/verify", pages.verify_backup, name="verify_backup"),
        Mount("/static", StaticFiles(packages=[("schemasync.studio", "static")]), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={SchemasyncError: on_error, 404: not_found})
    app.state.source = source
    app.state.templates = templates
    app.add_middleware(Guard, hosts=allowed_hosts(bind), templates=templates)
    return app
