"""schemasync: keep a PostgreSQL schema in step with SQLAlchemy models, safely.

The engine (this package) is plain Python and never imports Prefect; `tasks/` and `flows/` wrap it.
"""

__version__ = "0.1.0"
