"""In-function imports are the exception, each with its reason on its line (`# lazy: <reason>`).

Imports at the top of a module make its dependencies readable there (and checked by import-linter); an import
inside a function hides one. The reasons that justify it: start-up time (a heavy library or the engine off the
`--help`/`status` path), an import cycle, an optional dependency. This test parses every module of the package
and lists each import in a function body whose lines carry no `# lazy:` comment.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "schemasync"


def _modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if "__pycache__" not in path.parts)


def _unexplained(path: Path, root: Path = PACKAGE.parent) -> list[str]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found: set[tuple[int, str]] = set()
    for function in ast.walk(ast.parse(source, filename=str(path))):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            statement = lines[node.lineno - 1 : (node.end_lineno or node.lineno)]
            if not any("# lazy:" in line for line in statement):
                found.add((node.lineno, lines[node.lineno - 1].strip()))
    # a set: a nested function's imports are walked from it and from each function around it
    return [f"{path.relative_to(root)}:{line}: {text}" for line, text in sorted(found)]


def test_every_in_function_import_says_why() -> None:
    unexplained = [line for path in _modules() for line in _unexplained(path)]
    assert unexplained == [], (
        "imports inside functions without a '# lazy: <reason>' comment on their line (hoist them to the top of "
        "the module, or say why they wait: start-up time, an import cycle, an optional dependency):\n"
        + "\n".join(unexplained)
    )


def test_the_check_sees_in_function_imports(tmp_path: Path) -> None:
    """Guards the test above against passing vacuously: a bare in-function import is reported, a reasoned one not."""
    module = tmp_path / "probe.py"
    module.write_text(
        "import os\n\n\ndef f():\n    import json\n    from pathlib import (  # lazy: start-up (a test)\n"
        "        Path,\n    )\n\n    def g():\n        import re\n",
        encoding="utf-8",
    )
    found = _unexplained(module, root=tmp_path)
    assert [line.split(": ", 1)[1] for line in found] == ["import json", "import re"]
    assert len(_modules()) > 100  # the package itself is walked
