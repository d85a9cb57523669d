"""Files of the schema cache (`.schemasync/cache`): private to their owner, written atomically.

The cache holds the schema of the database and, in the recall entries, keyed hashes of environment
variables the models read (which may hold a database URL). None of it is for other local users:
directories are created 0700 and files 0600, whatever the umask (`schemasync.privatefiles`). The
hashes are HMACs keyed by a random salt kept beside them (also 0600), of the value with its secrets
masked, so a copied entry cannot be used to test guesses of a password.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
from pathlib import Path

from schemasync import secrets
from schemasync.privatefiles import open_private, private_dir

SALT_FILE = "salt"


def _salt(cache_dir: Path) -> bytes:
    path = cache_dir / SALT_FILE
    with contextlib.suppress(FileNotFoundError):
        return path.read_bytes()
    private_dir(cache_dir)
    try:
        fh = open_private(path)
    except FileExistsError:  # another process made it first
        return path.read_bytes()
    salt = os.urandom(32)
    with fh:
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
