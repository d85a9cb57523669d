"""Where persisted task results live, so a retried or resumed run finds its finished backup.

Prefect 3.9.1 facts (verified in tests/prefect/test_results.py; see flows/README.md): a task result is
reused on a retry only if it was persisted (`persist_result=True`) and the storage is readable by
the process running the retry. Without a setting, results go to `PREFECT_LOCAL_STORAGE_PATH`
(`$PREFECT_HOME/storage`) on the machine that ran the task. A task's `result_storage` must be a
block saved on the Prefect server (an unsaved block is a TypeError) or a `type/name` reference.

`local_result_storage(path)` pins results to a directory of our choosing (next to the backups) via
a LocalFileSystem block named after the path, so two projects on one Prefect server never share
or overwrite each other's storage. For workers on several machines the path must be shared (or a
remote block used instead, e.g. prefect-aws's S3Bucket).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from prefect.filesystems import LocalFileSystem


def local_result_storage(path: Path | str) -> str:
    """Save (idempotently) a LocalFileSystem block rooted at `path`; return its `result_storage` reference."""
    root = Path(path).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    name = "schemasync-results-" + hashlib.sha256(str(root).encode()).hexdigest()[:12]
    LocalFileSystem(basepath=str(root)).save(name, overwrite=True)
    return f"local-file-system/{name}"
