"""Keeping passwords and keys out of everything we print, log or store.

Secrets are registered as soon as they are read (a URL's password, `PROD_DB_PASS`, AWS keys), and
`scrub` replaces every registered value, in its plain and URL-encoded forms, wherever text leaves the
process: error messages, log records (via `ScrubbingFilter`), Prefect logs and artifacts, manifests.
Driver errors embed connection strings verbatim, so scrubbing at the exit is the only reliable place.
"""

from __future__ import annotations

import logging
import re
import string
from urllib.parse import quote, quote_plus, unquote

MASK = "***"
_secrets: set[str] = set()
# Examples in our own hints ("postgresql://user:password@host/db") are not secrets; a real password spelled
# like this is registered when read, and registered secrets are masked first.
# The mask itself is not a secret either, nor the mask as Markdown shows it (`safetext.escape_markdown`).
_PLACEHOLDERS = frozenset({"password", "PASSWORD", MASK, MASK.replace("*", "\\*")})
# password=... in libpq conninfo strings. Only "password" can start a match and every quantifier is
# possessive, so the regex engine never backtracks: one pass over the text.
_CONNINFO_PASSWORD = re.compile(r"(password\s*+=\s*+)('(?:[^'\\]++|\\.)*+'|\S++)", re.IGNORECASE)
# The pieces of `scheme://user:password@` that `_mask_url_passwords` looks for.
_SCHEME_CHARS = frozenset(string.ascii_letters + string.digits + "+.-")
# `://` followed by `user:` (looked at, not consumed, so candidates may overlap); the user part cannot
# hold `:`, `/`, `@` or whitespace, so the look never reaches past the next `://`.
_CANDIDATE = re.compile(r"://(?=([^:/@\s]*+):)")
_PASSWORD_END = re.compile(r"[@\s]")


def register(secret: str | None) -> None:
    """Remember a secret so that `scrub` hides it; short values are skipped to avoid masking noise."""
    if not secret or len(secret) < 3:
        return
    _secrets.update({secret, quote(secret, safe=""), quote_plus(secret)})


# Query parameters that carry credentials: libpq's password, and the usual names of tokens and keys.
_SECRET_QUERY_KEYS = re.compile(
    r"pass(word)?|passwd|pwd|secret|token|key|apikey|api_key|access_key|signature|sig|auth|credential", re.I
)


def register_url(url: str) -> None:
    """Register the credentials a URL carries: its userinfo password and secret-looking query values.

    Parsed by hand, never by a parser that raises: a URL that fails to parse (`%zz` in the password)
    is exactly the one whose error message would otherwise quote the password.
    """
    rest = url.split("://", 1)[-1]
    authority = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if "@" in authority:
        userinfo = authority.rsplit("@", 1)[0]
        if ":" in userinfo:
            _register_encoded(userinfo.split(":", 1)[1])
    query = rest.split("?", 1)[1].split("#", 1)[0] if "?" in rest else ""
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if value and _SECRET_QUERY_KEYS.fullmatch(unquote(name).strip()):
            _register_encoded(value)


def _register_encoded(value: str) -> None:
    register(value)
    register(unquote(value))


def scrub(text: str) -> str:
    """Return `text` with every known secret and every URL or conninfo password masked.

    Linear in the length of `text` (a 1 MB text takes milliseconds, whatever its shape): it runs on
    every log line, page value and error, including ones an attacker chooses, such as a URL.
    """
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    text = _mask_url_passwords(text)
    return _CONNINFO_PASSWORD.sub(lambda m: f"{m[1]}{MASK}", text)


def _mask_url_passwords(text: str) -> str:
    """Mask the password of every `scheme://user:password@` in `text`, for secrets we were never told about.

    A scanner rather than one regex: a regex for this retries from every letter of a long run such as
    `AAAA...` and takes quadratic time. Here the regex engine only finds each `://` followed by a user
    name and a `:` (the user part stops at the next `:` or `/`, so it never reaches past the next
    `://`); the end of the password (the next `@` or whitespace) is searched for only when the last
    search's answer lies behind it, so every character is read a bounded number of times.
    """
    pieces: list[str] = []
    done = 0  # text[:done] is in `pieces`
    resume = 0  # candidates before this were inside a match
    password_end = -1  # where the last search for '@' or whitespace stopped
    for candidate in _CANDIDATE.finditer(text):
        start = candidate.start()
        if start < resume or not _has_scheme(text, start):
            continue
        pw_start = candidate.end(1) + 1
        if password_end < pw_start:
            found = _PASSWORD_END.search(text, pw_start)
            password_end = len(text) if found is None else found.start()
        at = password_end
        if at > pw_start and at < len(text) and text[at] == "@":
            if text[pw_start:at] not in _PLACEHOLDERS:
                pieces += [text[done:pw_start], MASK]
                done = at
            resume = at + 1
    return "".join([*pieces, text[done:]]) if pieces else text


def _has_scheme(text: str, separator: int) -> bool:
    """Whether a URL scheme (a letter, then letters, digits, `+`, `.`, `-`) ends where `://` begins.

    The run of scheme characters before one `://` cannot overlap the run before another (`:` and `/`
    are not scheme characters), so walking back over it keeps the whole scan linear.
    """
    i = separator
    letter = False
    while i > 0 and text[i - 1] in _SCHEME_CHARS:
        i -= 1
        letter = letter or text[i].isalpha()
    return letter


class ScrubbingFilter(logging.Filter):
    """Logging filter that scrubs the formatted message of every record passing through a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True
