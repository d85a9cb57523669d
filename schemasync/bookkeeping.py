"""The tables kept in the app's database for bookkeeping, not for the app: one definition for everyone.

`schema_versions` (`versions.py`) and `schema_snapshots` (`snapshots.py`) are schemasync's; `alembic_version`
is Alembic's (under its default name) in versioned mode. None of them is ever a model: the diff neither
creates, alters, drops nor reports them, `introspect` writes no model for them, `status` does not count
them as the app's tables, snapshots do not store them, the studio greys them out and a restore does not
list them as the app's. A table of ours added here is left out by all of those at once.
"""

from __future__ import annotations

SCHEMA = "public"
VERSIONS_TABLE = "schema_versions"
SNAPSHOTS_TABLE = "schema_snapshots"
ALEMBIC_TABLE = "alembic_version"

OWN_TABLES: frozenset[tuple[str, str]] = frozenset(
    {(SCHEMA, VERSIONS_TABLE), (SCHEMA, SNAPSHOTS_TABLE), (SCHEMA, ALEMBIC_TABLE)}
)
