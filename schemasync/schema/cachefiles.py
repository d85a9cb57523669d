"""Files of the schema cache (`.schemasync/cache`): private to their owner, written atomically.

The cache holds the schema of the database and, in the recall entries, keyed hashes of environment
variables the models read (which may hold a database URL). None of it is for other local users:
directories are created 0700 and files 0600, whatever the umask. The hashes are HMACs keyed by a
random salt kept beside them (also 0600), of the value with its secrets masked, so a copied entry
cannot be used to test guesses of a password.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
from pathlib import Path

from schemasync import secrets

SALT_FILE = "salt"


def private_dir(path: Path) -> None:
    """Create `path` and any missing parents as 0700; tighten `path` itself if it already exists."""
    missing = []
    for directory in (path, *path.parents):
        if directory.exists():
            break
        missing.append(directory)
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=0o700)
    if path.stat().st_mode & 0o077:
        with contextlib.suppress(PermissionError):
            path.chmod(0o700)


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` as a 0600 file, atomically (a temporary file renamed over it)."""
    private_dir(path.parent)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        os.fchmod(fh.fileno(), 0o600)  # an older temporary file may have had another mode
        fh.write(text)
    os.replace(tmp, path)


def _salt(cache_dir: Path) -> bytes:
    path = cache_dir / SALT_FILE
    with contextlib.suppress(FileNotFoundError):
        return path.read_bytes()
    private_dir(cache_dir)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_bytes()
    salt = os.urandom(32)
    with os.fdopen(fd, "wb") as fh:
        fh.write(salt)
    return salt


def value_hash(cache_dir: Path, value: str | None) -> str | None:
    """A keyed hash of an environment value, with its known secrets and URL passwords masked first.

    Masking means a password change alone does not invalidate the entry: a password cannot change
    what DDL the models compile to in any sensible app, and it is then never an input to the hash.
    """
    if value is None:
        return None
    return hmac.new(_salt(cache_dir), secrets.scrub(value).encode(), hashlib.sha256).hexdigest()
