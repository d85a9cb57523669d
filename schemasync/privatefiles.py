"""Files and directories for their owner only: 0700 directories, 0600 files, whatever the umask.

Backups, their manifests, deployment summaries, Prefect results, the schema cache and pg_dump's
passfile all describe (or hold) a database and are not for other local users. One writer keeps the
rules in one place:

- `private_dir` creates missing directories 0700 (parents included) and tightens an existing one that
  is open to group or others; two processes creating the same directory at once both succeed.
- `open_private` creates a new file 0600 exclusively and never through a symbolic link (a link planted
  at a predictable name is refused, not followed), for data written as a stream.
- `place_new` renames a finished temporary file to its name only when nothing is there yet: a file that
  must never replace another (a downloaded backup beside a local copy of the same name).
- `write_private` replaces a file atomically: the content goes to a hidden temporary file beside it
  (created like `open_private`), which is renamed over the target, so a reader sees the old or the
  new file, never half of one, and a link at the target is replaced, not followed.
"""

from __future__ import annotations

import contextlib
import os
import secrets as tokens
from pathlib import Path
from typing import IO, Any

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def private_dir(path: Path) -> None:
    """Create `path` and any missing parents as 0700; tighten `path` itself when it is open to others.

    A directory someone else owns is left as it is (its mode is not ours to change); the caller's
    first write there fails with a clear error if it must.
    """
    missing = []
    for directory in (path, *path.parents):
        if directory.exists():
            break
        missing.append(directory)
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # created meanwhile by another process
            directory.mkdir(mode=0o700)
    if not path.is_dir():
        raise NotADirectoryError(f"{path} is not a directory")
    if path.stat().st_mode & 0o077:
        with contextlib.suppress(PermissionError):
            path.chmod(0o700)


def temporary_name(path: Path) -> Path:
    """A hidden, unpredictable sibling of `path` to write before renaming it over `path`.

    Hidden (a leading dot) and marked `.tmp-` so listings skip it and a sweep of leftovers finds it.
    """
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{tokens.token_hex(4)}")


def open_private(path: Path, mode: str = "wb", *, encoding: str | None = None) -> IO[Any]:
    """A new file at `path`, 0600, opened for writing; FileExistsError when `path` (or a link there) exists."""
    if mode not in ("wb", "w"):
        raise ValueError(f"open_private writes new files only, not mode {mode!r}")
    fd = os.open(path, _CREATE, 0o600)
    return os.fdopen(fd, mode, encoding=encoding if mode == "w" else None)


def fsync_path(path: Path) -> None:
    """Flush a file's or a directory's entry to disk (a directory after a rename in it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def place_new(tmp: Path, path: Path) -> None:
    """Give the finished file `tmp` the name `path`, never replacing what is there: FileExistsError instead.

    A hard link is created atomically and fails when `path` exists, so a file that appears between a
    caller's check and this call is still not replaced; `tmp` is removed once linked. A file system
    without hard links gets a rename after a last check (the window is the caller's own process).
    """
    try:
        os.link(tmp, path, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError:
        if path.exists() or path.is_symlink():
            raise FileExistsError(path) from None
        os.replace(tmp, path)
        return
    tmp.unlink()


def write_private(path: Path, data: str | bytes, *, durable: bool = False) -> None:
    """Replace `path` with `data` as a 0600 file, atomically; its directory is made private first.

    `durable` flushes the file to disk before the rename (a backup's manifest must survive a crash
    once it is in place); caches and results do without.
    """
    private_dir(path.parent)
    tmp = temporary_name(path)
    try:
        with open_private(tmp) as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
