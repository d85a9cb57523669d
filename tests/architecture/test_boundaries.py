"""Architecture rules that must hold as the code grows: the engine never imports Prefect."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import importlib, pkgutil, sys
import schemasync
for module in pkgutil.walk_packages(schemasync.__path__, "schemasync."):
    # __main__ would run the CLI; workflows is the Prefect front end, the one package that imports Prefect
    if not module.name.endswith("__main__") and not module.name.startswith("schemasync.workflows"):
        importlib.import_module(module.name)
leaked = sorted(m for m in sys.modules if m == "prefect" or m.startswith("prefect."))
print("LEAKED", leaked)
"""


def test_engine_never_imports_prefect() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "LEAKED []" in result.stdout, result.stdout


def test_fast_paths_do_not_import_heavy_libraries() -> None:
    """`--help` and `status` must not pay for Prefect, SQLAlchemy or boto3 at import time."""
    probe = (
        "import sys\n"
        "import schemasync.cli.commands\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'prefect', 'sqlalchemy', 'boto3', 'botocore', 'alembic'})\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout, result.stdout
