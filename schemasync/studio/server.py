"""Running the studio: bind the address ourselves, then hand the socket to uvicorn.

Binding first turns "port in use" or "cannot bind that host" into a one-paragraph error before
anything starts, makes `--port 0` (any free port) print the real address, and lets `--open` point
the browser at a socket that is already listening.

uvicorn's own logging is not configured (`log_config=None`) and its access log is off: the studio
logs one line per request itself, through the `schemasync` logger whose CLI handler scrubs secrets,
and uvicorn's warnings are forwarded the same way without tracebacks.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import logging
import socket
import threading
import webbrowser

import uvicorn

from schemasync import db, safetext, secrets
from schemasync.config import Loaded
from schemasync.errors import ConfigError, SchemasyncError
from schemasync.studio.app import LOOPBACK, create_app
from schemasync.studio.source import Source

log = logging.getLogger("schemasync.studio")


class _Forward(logging.Handler):
    """uvicorn's records, re-logged on our logger as one scrubbed line (no traceback)."""

    def emit(self, record: logging.LogRecord) -> None:
        log.log(record.levelno, "%s", safetext.printable(secrets.scrub(record.getMessage())))


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or a ConfigError saying why not."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) and exc.strerror else str(exc)
        raise ConfigError(
            f"Cannot serve on host {host!r}: {reason}.", "Pass an address of this machine, such as --host 127.0.0.1."
        ) from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRNOTAVAIL:
            raise ConfigError(
                f"Cannot serve on {host}: it is not an address of this machine.",
                "Pass one of this machine's addresses with --host (the default, 127.0.0.1, serves this machine only).",
            ) from None
        reason = "the port is already in use" if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
        raise ConfigError(
            f"Cannot serve on {host}:{port}: {reason}.",
            "Pick another port with --port N (or --port 0 for any free one).",
        ) from None
    return sock


def url_of(sock: socket.socket, host: str) -> str:
    port = sock.getsockname()[1]
    shown = f"[{host.strip('[]')}]" if ":" in host.strip("[]") else host
    return f"http://{shown}:{port}/"


def run(loaded: Loaded, *, host: str, port: int, open_browser: bool) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM), then return normally."""
    target = db.resolve(loaded.settings, dict(loaded.sources))
    source = Source(loaded, target)
    sock = bind(host, port)
    if not is_loopback(host):
        log.warning(
            "serving on %s: anyone who can reach this machine on that address can read the schema and the data "
            "in every table (the studio has no login). Serve on 127.0.0.1 (the default) unless you mean it.",
            host,
        )
    url = url_of(sock, "127.0.0.1" if host in ("0.0.0.0", "::") else host)  # noqa: S104 (compared, not bound)
    try:
        source.check()
    except SchemasyncError as exc:  # unreachable now: the pages say so until it is back
        log.warning("%s Pages show this until the database can be reached.", secrets.scrub(exc.message))
    app = create_app(source, bind=host)
    uvicorn_log = logging.getLogger("uvicorn")
    uvicorn_log.handlers = [_Forward()]
    uvicorn_log.propagate = False
    uvicorn_log.setLevel(logging.WARNING)
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        server_header=False,
        lifespan="off",
        # h11 bounds a request's head (so the URL the request log scrubs) to 16 KiB; httptools has no such bound
        http="h11",
        h11_max_incomplete_event_size=16 * 1024,
        timeout_graceful_shutdown=3,
    )
    log.info("schemasync studio for %s on %s (read-only; Ctrl-C to stop)", target.display, url)
    if open_browser:
        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
    # uvicorn re-raises the Ctrl-C it handled; for a server that is the normal way to stop, not a failure.
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run(sockets=[sock])
    log.info("schemasync studio stopped")
