"""The production deployment's steps as plain engine calls, for the Prefect flow (`schemasync/workflows/flows/production.py`).

- `model.py`: the values the steps take and return (a `Target` of names and settings, never a URL or a
  password; plans, backups and outcomes as plain data, safe to persist and to show).
- `steps.py`: one function per step (versions, plan, backup, upload, apply, build, verify, record,
  summary), each opening its own connection from the `Target`, so the Prefect tasks around them pass
  only plain values and a retried task starts clean.
- `report.py`: the Markdown the approver reads and the deployment summary with its rollback command.

Nothing here imports Prefect: the flow layer adds retries, persistence, the approval pause and the
per-database concurrency limit (passed to `apply_change` as a `slot` context manager).
"""
