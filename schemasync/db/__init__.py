"""The database layer: connections (`connection.py`), the run lock (`locks.py`), which database a command
works on (`resolve.py`) and the embedded server (`embedded.py`).

Callers use this package's names (`db.session`, `db.advisory_lock`, `db.resolve`); `embedded` is imported
only where it is used, because it looks for pgserver.
"""

from schemasync.db.connection import (
    APPLICATION_NAME,
    Database,
    connect,
    explain,
    is_transient,
    parse_url,
    session,
    set_timeouts,
    transient_text,
)
from schemasync.db.locks import (
    LOCK_CLASS_ID,
    LOCK_OBJECT_ID,
    LockTable,
    LockTimeout,
    advisory_lock,
    lock_holder,
    lock_table,
)
from schemasync.db.resolve import resolve

__all__ = [
    "APPLICATION_NAME",
    "LOCK_CLASS_ID",
    "LOCK_OBJECT_ID",
    "Database",
    "LockTable",
    "LockTimeout",
    "advisory_lock",
    "connect",
    "explain",
    "is_transient",
    "lock_holder",
    "lock_table",
    "parse_url",
    "resolve",
    "session",
    "set_timeouts",
    "transient_text",
]
