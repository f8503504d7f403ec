"""ops/ imports nothing of sandbox/, so it repeats the sandbox's public constants
(ops/sandbox_stack.py): they must stay the sandbox's own and the Makefile's."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import sandbox
from ops import sandbox_stack
from sandbox.__main__ import _parser

ROOT = Path(__file__).resolve().parents[2]


def test_the_constants_are_the_sandboxs_and_the_makefiles() -> None:
    makefile = (ROOT / "Makefile").read_text()
    defaults = _parser().parse_args([])

    assert sandbox_stack.ILERT_TOKEN == sandbox.ILERT_TOKEN
    assert sandbox_stack.LEVEL_API_KEY == sandbox.LEVEL_API_KEY
    assert f"http://127.0.0.1:{defaults.ilert_port}" == sandbox_stack.ILERT_BASE_URL
    assert f"http://127.0.0.1:{defaults.level_port}" == sandbox_stack.LEVEL_BASE_URL
    assert f"export ILERT_API_TOKEN := {sandbox_stack.ILERT_TOKEN}" in makefile
    assert f"export LEVEL_API_KEY := {sandbox_stack.LEVEL_API_KEY}" in makefile
    assert f"export PULUMI_CONFIG_PASSPHRASE := {sandbox_stack.PASSPHRASE}" in makefile
    assert f"STATE_DIR := {sandbox_stack.STATE_DIR}" in makefile
    assert re.search(r"STACK\), *sandbox%|filter sandbox%", makefile)


def test_ops_imports_nothing_of_the_sandbox() -> None:
    found = []
    for path in sorted((ROOT / "ops").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.relative_to(ROOT)}: {name}" for name in names
                      if name == "sandbox" or name.startswith("sandbox.")]
    assert found == []
