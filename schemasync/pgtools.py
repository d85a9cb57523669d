"""PostgreSQL's client programs (pg_dump, pg_restore): which one to run, and how to run it safely.

Which one: several majors are often installed side by side (the embedded server ships its own, Debian
keeps one per major under /usr/lib/postgresql/N/bin, PATH has whatever the distribution chose). pg_dump
refuses to dump a server newer than itself, and pg_restore cannot read an archive written by a newer
pg_dump, so we probe each candidate's `--version` and prefer the major that matches the server; a newer
one is accepted (both programs support older servers), an older one never.

How: the connection goes to the child through libpq's own environment variables, and the password
through a temporary passfile readable by us alone, removed afterwards. Nothing secret is ever on a
command line (visible to every local user in `ps`) or in PGPASSWORD (which PostgreSQL's documentation
advises against for the same reason). Nor does a child inherit our other secrets: it gets only the
variables a libpq program uses (`child_env`), so DATABASE_URL, SCHEMASYNC_DEPLOY_DATABASE_URL, the
PROD_* variables and the AWS keys never reach its environment (`/proc/<pid>/environ`, core dumps,
anything it runs in turn).
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import logging
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import make_conninfo

from schemasync import secrets
from schemasync.config import Settings
from schemasync.db import Database, embedded
from schemasync.errors import ConfigError
from schemasync.privatefiles import open_private

log = logging.getLogger(__name__)

# libpq connection keywords and the environment variables that carry them (libpq docs, "Environment Variables").
ENV_VARS: dict[str, str] = {
    "host": "PGHOST",
    "hostaddr": "PGHOSTADDR",
    "port": "PGPORT",
    "dbname": "PGDATABASE",
    "user": "PGUSER",
    "passfile": "PGPASSFILE",
    "channel_binding": "PGCHANNELBINDING",
    "service": "PGSERVICE",
    "options": "PGOPTIONS",
    "application_name": "PGAPPNAME",
    "sslmode": "PGSSLMODE",
    "requiressl": "PGREQUIRESSL",
    "sslnegotiation": "PGSSLNEGOTIATION",
    "sslcompression": "PGSSLCOMPRESSION",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcertmode": "PGSSLCERTMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcrl": "PGSSLCRL",
    "sslcrldir": "PGSSLCRLDIR",
    "sslsni": "PGSSLSNI",
    "requirepeer": "PGREQUIREPEER",
    "require_auth": "PGREQUIREAUTH",
    "ssl_min_protocol_version": "PGSSLMINPROTOCOLVERSION",
    "ssl_max_protocol_version": "PGSSLMAXPROTOCOLVERSION",
    "gssencmode": "PGGSSENCMODE",
    "krbsrvname": "PGKRBSRVNAME",
    "gsslib": "PGGSSLIB",
    "gssdelegation": "PGGSSDELEGATION",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "client_encoding": "PGCLIENTENCODING",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "load_balance_hosts": "PGLOADBALANCEHOSTS",
}
# Variables a libpq client program reads besides those above (libpq docs, "Environment Variables"), and what any
# program needs to run (locale, time zone, home for ~/.pgpass and ~/.postgresql, temporary directory, libraries).
_PG_EXTRA = frozenset(
    [
        "PGSERVICEFILE",
        "PGSYSCONFDIR",
        "PGLOCALEDIR",
        "PGDATESTYLE",
        "PGTZ",
        "PGGEQO",
        "PGMINPROTOCOLVERSION",
        "PGMAXPROTOCOLVERSION",
    ]
)
_PROCESS_VARS = frozenset(
    [
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "SYSTEMROOT",
        "LD_LIBRARY_PATH",
        "DYLD_LIBRARY_PATH",
        "KRB5CCNAME",
        "KRB5_CONFIG",
        "KRB5_KTNAME",
        "KRB5_CLIENT_KTNAME",
    ]
)
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.(\d+))?")


class ToolNotFound(ConfigError):
    """No usable pg_dump / pg_restore for this server."""


@dataclass(frozen=True, slots=True)
class Tool:
    """A client program we probed: where it is and which PostgreSQL release it belongs to."""

    name: str
    path: str
    version: str
    major: int


def server_major(server_version_num: int) -> int:
    """10.x and later number majors by the first component (150020 -> 15)."""
    return server_version_num // 10000


def search_dirs(settings: Settings | None = None) -> list[str]:
    """Where to look, best first: the configured directory alone, else the embedded server's, /usr/lib/postgresql."""
    if settings is not None and settings.pg_bin_dir is not None:
        return [str(settings.pg_bin_dir)]
    dirs: list[str] = []
    if (embedded_bin := _embedded_bin_dir()) is not None:
        dirs.append(embedded_bin)
    versioned = glob.glob("/usr/lib/postgresql/*/bin")
    dirs.extend(sorted(versioned, key=_natural, reverse=True))
    return dirs


def _embedded_bin_dir() -> str | None:
    """The embedded server's bin directory, found without importing pgserver (a quarter second here)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "pginstall" / "bin"  # where pgserver._commands.POSTGRES_BIN_PATH points
        if candidate.is_dir():
            return str(candidate)
    with warnings.catch_warnings():  # pgserver's import warns about XDG_RUNTIME_DIR on some machines
        warnings.simplefilter("ignore")
        return embedded.bin_dir()


def _natural(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)


def child_env() -> dict[str, str]:
    """Our environment cut down to what a libpq client program uses; never PGPASSWORD (see `client_env`).

    An allow-list, not a deny-list: a secret can sit in any variable (DATABASE_URL, PROD_DB_PASSWORD,
    AWS_SECRET_ACCESS_KEY, a CI token), and none of them is the child's business.
    """
    wanted = _PROCESS_VARS | _PG_EXTRA | set(ENV_VARS.values())
    return {k: v for k, v in os.environ.items() if (k in wanted or k.startswith("LC_")) and k != "PGPASSWORD"}


def probe(path: str) -> Tool | None:
    """Run `path --version`; None when it is not a PostgreSQL client program we can run."""
    try:
        proc = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=20, check=False, env=child_env()
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION.search(proc.stdout)
    if proc.returncode != 0 or match is None:
        return None
    version = ".".join(g for g in match.groups() if g is not None)
    return Tool(Path(path).name, path, version, int(match[1]))


def candidates(name: str, dirs: Sequence[str], path: str | None) -> Iterator[Tool]:
    """Every runnable `name` in `dirs`, then on `path` (PATH when None), each probed once, lazily."""
    seen: set[str] = set()
    search = list(dirs)
    path_value = os.environ.get("PATH", "") if path is None else path
    search.extend(d for d in path_value.split(os.pathsep) if d)
    for directory in search:
        exe = os.path.join(directory, name)
        if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
            continue
        real = os.path.realpath(exe)
        key = exe if real.endswith("pg_wrapper") else real  # Debian's wrapper dispatches by name: keep each
        if key in seen:
            continue
        seen.add(key)
        if (tool := probe(exe)) is not None:
            yield tool


def find(
    name: str,
    want_major: int,
    *,
    minimum: int | None = None,
    settings: Settings | None = None,
    dirs: Sequence[str] | None = None,
    path: str | None = None,
) -> Tool:
    """The `name` program for a server of major `want_major`: that major if present, else the nearest newer one.

    `minimum` raises the floor (pg_restore must be at least as new as the pg_dump that wrote the archive).
    """
    floor = max(want_major, minimum or 0)
    dirs = search_dirs(settings) if dirs is None else list(dirs)
    found: list[Tool] = []
    for tool in candidates(name, dirs, path):
        if tool.major == want_major and tool.major >= floor:
            return tool  # the best possible: stop probing
        found.append(tool)
    newer = sorted((t for t in found if t.major >= floor), key=lambda t: t.major)
    if newer:
        log.debug("no %s %d found; using %s %s (%s)", name, want_major, name, newer[0].version, newer[0].path)
        return newer[0]
    looked = ", ".join([*dirs, "PATH"]) if dirs else "PATH"
    package = f"postgresql-client-{floor}"
    where = "SCHEMASYNC_PG_BIN_DIR (pg_bin_dir)"
    if found:
        listing = ", ".join(f"{t.version} ({t.path})" for t in found)
        raise ToolNotFound(
            f"No {name} of PostgreSQL {floor} or newer was found; only {listing}, older than needed "
            f"({name} cannot work with a newer server{' or archive' if minimum else ''}).",
            f"Install the PostgreSQL {floor} client programs (for example apt-get install {package}) or set {where} "
            f"to a directory holding {name} {floor} or newer.",
        )
    raise ToolNotFound(
        f"No {name} program was found (looked in {looked}).",
        f"Install the PostgreSQL {floor} client programs (for example apt-get install {package}), or set {where} to "
        f"the directory holding {name}.",
    )


def _passfile_field(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:")


@contextlib.contextmanager
def client_env(
    db: Database, settings: Settings, *, application_name: str, options: str | None = None
) -> Iterator[tuple[dict[str, str], list[str]]]:
    """(environment, extra arguments) that connect a libpq program to `db` without exposing the password.

    Keywords of the URL become PG* variables (overriding inherited ones); the inherited libpq variables
    stay (`child_env`), so the child connects exactly as our own psycopg connection did. The database name
    and keywords with no variable go in a `--dbname` conninfo, which never holds a secret. An inherited
    PGPASSWORD (used when the URL has no password) moves into the passfile too.
    """
    parts = dict(db.parts)
    password = parts.pop("password", None)
    if password is None and os.environ.get("PGPASSWORD"):
        password = os.environ["PGPASSWORD"]
    if parts.pop("sslpassword", None) is not None:
        raise ConfigError(
            "The database URL sets sslpassword, which cannot be handed to pg_dump/pg_restore without showing it.",
            "Use an unencrypted client key file (readable by you only) for backups and restores.",
        )
    env = child_env()
    extra: dict[str, str] = {}
    for key, value in parts.items():
        if key in ENV_VARS:
            env[ENV_VARS[key]] = str(value)
        else:
            extra[key] = str(value)
    env["PGAPPNAME"] = application_name
    env.setdefault("PGCONNECT_TIMEOUT", str(max(2, round(settings.connect_timeout))))
    if options:
        env["PGOPTIONS"] = f"{parts['options']} {options}" if parts.get("options") else options

    # pg_restore needs --dbname; it holds the name and keywords with no variable, never a secret.
    args = ["--dbname=" + make_conninfo(**extra, dbname=db.name)]
    tmpdir = None
    try:
        if password is not None:
            secrets.register(password)
            tmpdir = tempfile.mkdtemp(prefix="schemasync-pg-")  # mode 0700
            passfile = Path(tmpdir) / "pgpass"
            with open_private(passfile, "w", encoding="utf-8") as fh:
                fh.write(f"*:*:*:*:{_passfile_field(password)}\n")
            env["PGPASSFILE"] = str(passfile)
        yield env, args
    finally:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)


def first_error(stderr: str) -> str:
    """The most telling line of a client program's stderr, scrubbed: its first 'error:' line, else the first."""
    lines = [line.strip() for line in secrets.scrub(stderr).splitlines() if line.strip()]
    for line in lines:
        if "error:" in line or "FATAL" in line:
            return re.sub(r"^(pg_dump|pg_restore): (error: )?", "", line)
    return lines[0] if lines else "no error message"
