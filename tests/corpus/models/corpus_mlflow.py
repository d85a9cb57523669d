"""MLflow's whole tracking-server schema: the tracking, model-registry and workspace stores share one Base.

`mlflow.store.tracking.dbmodels.models` alone declares only the tracking tables, while the migration
history builds all three stores' tables in one database; importing the three modules declares them all.
"""

import mlflow.store.model_registry.dbmodels.models
import mlflow.store.tracking.dbmodels.models
import mlflow.store.workspace.dbmodels.models  # noqa: F401
from mlflow.store.db.base_sql_model import Base

__all__ = ["Base"]
