"""Use cases: what a command does, as plain functions the front ends call between their prompts.

Like Alembic's `command.py`, one module per use case (`sync.py`); the CLI, the Prefect flows and the
studio only parse, prompt, print and orchestrate. The rules the use cases apply live in `plan/policy.py`.
"""
