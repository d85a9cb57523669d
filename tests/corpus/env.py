"""The corpus's own virtual environment, built once per set of pins and kept in `.cache/corpus-<hash>/`.

The corpus applications (tests/corpus/requirements.txt) bring hundreds of packages that schemasync
itself must not depend on, so they never go into the project's `.venv`. Their environment also holds
schemasync, installed editable with its dependencies held to uv.lock's versions: the models of an app
import that app's packages, and schemasync imports the models, so both must run in one interpreter
with one consistent set of packages (adding the other venv's site-packages to a path would mix two
resolutions of SQLAlchemy and friends). Editable means the tests always run the working tree's engine.

The directory name is a hash of the pins, pyproject.toml and uv.lock: a change to any of them builds a
new environment (older ones are removed), an unchanged tree reuses the ready one in well under a second.
uv's download cache makes a rebuild cost about a minute. `python tests/corpus/env.py` builds it (what
.ci/run does); the tests call `ensure()` and skip with its reason when the packages cannot be installed.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = Path(__file__).with_name("requirements.txt")
CACHE = ROOT / ".cache"


class CorpusUnavailable(Exception):
    """The corpus environment could not be built (no uv, no registry, a pin that does not resolve)."""


def key() -> str:
    digest = hashlib.sha256()
    for path in (REQUIREMENTS, ROOT / "pyproject.toml", ROOT / "uv.lock"):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def venv_dir() -> Path:
    return CACHE / f"corpus-{key()}"


def python() -> Path:
    return venv_dir() / "bin" / "python"


def _uv() -> str:
    bundled = CACHE / "uv" / "bin" / "uv"
    if bundled.exists():
        return str(bundled)
    found = shutil.which("uv")
    if found is None:
        raise CorpusUnavailable("uv is not installed (./run installs it into .cache/uv)")
    return found


def _run(args: list[str], what: str) -> str:
    proc = subprocess.run(args, check=False, capture_output=True, text=True, cwd=ROOT, timeout=1200)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise CorpusUnavailable(f"{what} failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


def ensure() -> Path:
    """The corpus environment's python, building the environment first if this set of pins has none."""
    target = venv_dir()
    ready = target / ".ready"
    if ready.exists():
        return python()
    CACHE.mkdir(exist_ok=True)
    with (CACHE / "corpus.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers: one builds, the others wait and reuse
        if ready.exists():
            return python()
        uv = _uv()
        for old in CACHE.glob("corpus-*"):
            shutil.rmtree(old, ignore_errors=True)
        base = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
        _run([uv, "venv", "--quiet", "--python", base, str(target)], "creating the corpus environment")
        constraints = target / "constraints.txt"
        constraints.write_text(
            _run(
                [uv, "export", "--frozen", "--no-hashes", "--no-emit-project", "--no-header", "--no-annotate"],
                "exporting uv.lock",
            )
        )
        _run(
            [
                uv,
                "pip",
                "install",
                "--quiet",
                "--python",
                str(target / "bin" / "python"),
                "--constraint",
                str(constraints),
                "--editable",
                str(ROOT),
                "--requirement",
                str(REQUIREMENTS),
            ],
            "installing the corpus packages",
        )
        ready.touch()
    return python()


if __name__ == "__main__":
    try:
        print(ensure())
    except CorpusUnavailable as exc:
        print(f"warning: the real-world corpus tests will be skipped: {exc}", file=sys.stderr)
        sys.exit(1)
