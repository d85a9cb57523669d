"""Where persisted task results live, so a retried or resumed run finds its finished backup.

Prefect 3.9.1 facts (verified in tests/flows/test_results.py; see flows/README.md): a task result is
reused on a retry only if it was persisted (`persist_result=True`) and the storage is readable by
the process running the retry. Without a setting, results go to `PREFECT_LOCAL_STORAGE_PATH`
(`$PREFECT_HOME/storage`) on the machine that ran the task. A task's `result_storage` must be a
block saved on the Prefect server (an unsaved block is a TypeError) or a `type/name` reference.

`local_result_storage(path)` pins results to a directory of our choosing (next to the backups) via
a block named after the path, so two projects on one Prefect server never share or overwrite each
other's storage. For workers on several machines the path must be shared (or a remote block used
instead, e.g. prefect-aws's S3Bucket).

The block is `PrivateFileSystem`, Prefect's LocalFileSystem with owner-only modes: a result describes
a backup (where it is, its manifest), and the backup directory and its files are private (0700/0600)
like everything `schemasync backup` writes; LocalFileSystem would create them 0755/0644 under the
usual umask.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from prefect._internal.compatibility.async_dispatch import async_dispatch
from prefect.exceptions import ObjectAlreadyExists
from prefect.filesystems import LocalFileSystem

from schemasync.backups.format import ensure_dir
from schemasync.privatefiles import write_private


class PrivateFileSystem(LocalFileSystem):
    """LocalFileSystem that creates directories 0700 and files 0600 (an existing file is replaced, atomically)."""

    _block_type_name = "Schemasync Private File System"
    _block_type_slug = "schemasync-private-file-system"

    def _write_private(self, path: str, content: bytes) -> str:
        resolved = self._resolve_path(path)  # LocalFileSystem's own check that `path` stays under basepath
        if resolved.exists() and not resolved.is_file():
            raise ValueError(f"Path {resolved} already exists and is not a file.")
        write_private(resolved, content)  # missing directories 0700 (concurrent tasks may race), replaced atomically
        return str(resolved)

    async def awrite_path(self, path: str, content: bytes) -> str:
        """What Prefect's result store calls; small files, so the write needs no thread of its own."""
        return self._write_private(path, content)

    @async_dispatch(awrite_path)  # as LocalFileSystem does: Prefect calls it with `_sync=`
    def write_path(self, path: str, content: bytes) -> str:  # type: ignore[override]
        return self._write_private(path, content)


def local_result_storage(path: Path | str) -> str:
    """Save (idempotently) a PrivateFileSystem block rooted at `path`; return its `result_storage` reference.

    `path` and its parent (the backup directory) are created owner-only when missing, and made so when
    not (an earlier release made `path` 0755).
    """
    root = Path(path).expanduser().resolve()
    ensure_dir(root.parent)
    ensure_dir(root)
    name = "schemasync-results-" + hashlib.sha256(str(root).encode()).hexdigest()[:12]
    block = PrivateFileSystem(basepath=str(root))
    try:
        block.save(name, overwrite=True)
    except ObjectAlreadyExists:
        # Two runs starting together on a server that has never seen the block type (or this block) both
        # create it, and the second gets a 409 (seen in CI: two deployments of one database). Saved again,
        # the type exists and the document is overwritten.
        block.save(name, overwrite=True)
    return f"{PrivateFileSystem.get_block_type_slug()}/{name}"
