"""The CLI's start-up imports only the CLI and the core: `--help` must not pay for the engine.

Issue 15's package moves made the command modules import `schemasync.db` (psycopg) and `schemasync.engine`
(the diff, the models' DDL) at start-up, and `import schemasync.cli.entry` went from ~0.3 s to ~0.6-0.75 s.
The command modules now import those inside the commands that need them. Not a timed test: it checks what
importing the console script's module loads, in a fresh interpreter, which is what made it slow.
"""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = "import json, sys\nimport schemasync.cli.entry\nprint(json.dumps(sorted(sys.modules)))\n"

# Libraries a command may need but `--help` must not load (PyPI distribution names as imported).
HEAVY = {
    "psycopg",
    "psycopg_pool",
    "sqlalchemy",
    "alembic",
    "prefect",
    "boto3",
    "botocore",
    "pglast",
    "sqlacodegen",
    "pgserver",
    "httpx",
    "starlette",
}

# Our modules the start-up may load: the CLI itself and the core, which imports nothing of the engine.
CORE = {
    "schemasync",
    "schemasync.appversion",
    "schemasync.bookkeeping",
    "schemasync.config",
    "schemasync.errors",
    "schemasync.privatefiles",
    "schemasync.safetext",
    "schemasync.secrets",
    "schemasync.units",
}


def _loaded() -> list[str]:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_cli_start_up_loads_only_the_cli_and_the_core() -> None:
    loaded = _loaded()
    heavy = sorted({m.split(".")[0] for m in loaded} & HEAVY)
    engine = sorted(
        m
        for m in loaded
        if m.startswith("schemasync.")
        and m not in CORE
        and m != "schemasync.cli"
        and not m.startswith("schemasync.cli.")
    )
    assert heavy == [], f"importing schemasync.cli.entry loads {heavy}: import them inside the commands"
    assert engine == [], f"importing schemasync.cli.entry loads engine modules {engine}: import them in the commands"


def test_the_probe_sees_the_cli() -> None:
    """Guards the test above against passing vacuously (a probe that imported nothing would list nothing)."""
    loaded = _loaded()
    assert {"schemasync.cli.entry", "schemasync.cli.schema", "schemasync.config", "typer"} <= set(loaded)
