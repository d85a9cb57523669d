"""The wheel installs one top-level package, `schemasync`: no `flows` or `tasks` to clash with an app's own."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UV = ROOT / ".cache" / "uv" / "bin" / "uv"  # the pinned uv `./run` installs


def test_wheel_installs_only_the_schemasync_package(tmp_path: Path) -> None:
    # Built from the checkout with the pinned uv; hatchling comes from uv's cache once it has been fetched.
    result = subprocess.run(
        [str(UV), "build", "--wheel", "--out-dir", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("schemasync-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"schemasync"}, sorted(top)
    # the Prefect layer ships inside the package, where the CLI imports it from
    for module in ("flows/production.py", "flows/restore.py", "flows/drift.py", "tasks/production.py", "approval.py"):
        assert f"schemasync/workflows/{module}" in names, module
