"""The operator commands must not make `--help` or `status` pay for importing Prefect."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
from schemasync.cli.entry import main
sys.argv = ["schemasync", *{args!r}]
try:
    main()
except SystemExit:
    pass
print("PREFECT", sorted(m for m in sys.modules if m.split(".")[0] == "prefect" or m.startswith("schemasync.workflows")))
"""


@pytest.mark.parametrize("args", [("--help",), ("status", "--help"), ("approve", "--help"), ("runs", "--help")])
def test_help_does_not_import_prefect(args: tuple[str, ...]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=list(args))], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout
    assert "PREFECT []" in result.stdout, result.stdout[-500:]


def test_importing_the_commands_does_not_import_prefect() -> None:
    probe = "import sys, schemasync.cli.commands\nprint('PREFECT', sorted(m for m in sys.modules if m.split('.')[0] == 'prefect'))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "PREFECT []" in result.stdout, result.stdout
