"""The Prefect front end: flows (`flows/`) chain tasks (`tasks/`), each task one engine call.

The modules here are what the flows need from Prefect and are not flows themselves: the approval pause
(`approval.py`), what a run's creator may not decide (`preapproval.py`), the per-database concurrency
limit (`limits.py`), persisted task results (`results.py`) and the engine's log lines in the run's log
(`logs.py`). The engine below never imports this package; the repository's top-level `flows/` and
`tasks/` re-export the flows and tasks for `prefect deploy` from the checkout (prefect.yaml entrypoints).
"""
