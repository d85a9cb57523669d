"""Keeping passwords and keys out of everything we print, log or store.

Secrets are registered as soon as they are read (a URL's password, `PROD_DB_PASS`, AWS keys), and
`scrub` replaces every registered value, in its plain and URL-encoded forms, wherever text leaves the
process: error messages, log records (via `ScrubbingFilter`), Prefect logs and artifacts, manifests.
Driver errors embed connection strings verbatim, so scrubbing at the exit is the only reliable place.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote, quote_plus

MASK = "***"
_secrets: set[str] = set()
# user:password@ in any URL-looking text, for secrets we were never told about.
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@\s]+)@", re.IGNORECASE)
# Examples in our own hints ("postgresql://user:password@host/db") are not secrets; a real password spelled
# like this is registered when read, and registered secrets are masked first.
_PLACEHOLDERS = frozenset({"password", "PASSWORD", MASK})
# password=... in libpq conninfo strings
_CONNINFO_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def register(secret: str | None) -> None:
    """Remember a secret so that `scrub` hides it; short values are skipped to avoid masking noise."""
    if not secret or len(secret) < 3:
        return
    _secrets.update({secret, quote(secret, safe=""), quote_plus(secret)})


def scrub(text: str) -> str:
    """Return `text` with every known secret and every URL or conninfo password masked."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    text = _URL_PASSWORD.sub(lambda m: m[0] if m["pw"] in _PLACEHOLDERS else f"{m['scheme']}{m['user']}:{MASK}@", text)
    return _CONNINFO_PASSWORD.sub(lambda m: f"{m[1]}{MASK}", text)


class ScrubbingFilter(logging.Filter):
    """Logging filter that scrubs the formatted message of every record passing through a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True
