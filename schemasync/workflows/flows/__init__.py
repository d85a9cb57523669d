"""Prefect flows: each chains the tasks of `schemasync/workflows/tasks/` around the approval pause."""
