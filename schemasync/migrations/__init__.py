"""Working with an app's Alembic migrations: its project (`project.py`), revisions written from our plan
(`generate.py`, rendered through Alembic's own `op` renderer by `ops.py`). Versioned mode, which runs them,
is `schemasync.versioned`."""
