"""The sandbox is the referee of the project's clients, so it imports none of the project's
code (issue 23): a bug in providers/, clients/, icl/, components/, ops/ or tools/ must not
be able to hide in the fake APIs the tests run against.

Every module under sandbox/ is read with ``ast`` (nothing is imported), so imports inside
functions, under ``if TYPE_CHECKING`` and through ``importlib``/``__import__`` with a
literal name count too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = ROOT / "sandbox"
FORBIDDEN = ("providers", "clients", "icl", "components", "ops", "tools")


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def forbidden_imports(source: str, filename: str) -> list[str]:
    """``file:line: import ...`` for each import of a forbidden package in ``source``."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level >= 2:  # from ..x import y leaves sandbox/ for the project's root
                names = [node.module or "", *(alias.name for alias in node.names)]
            elif node.level == 0 and node.module:
                names = [node.module]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                names = [node.args[0].value]
        line = getattr(node, "lineno", 0)
        found.extend(
            f"{filename}:{line}: {ast.unparse(node)}" for name in names if _top(name) in FORBIDDEN
        )
    return found


def sandbox_modules() -> list[Path]:
    return sorted(SANDBOX.rglob("*.py"))


def test_the_sandbox_imports_nothing_of_the_project() -> None:
    modules = sandbox_modules()
    assert len(modules) > 10, f"no sandbox modules found under {SANDBOX}"
    found = [
        hit
        for path in modules
        for hit in forbidden_imports(path.read_text(encoding="utf-8"),
                                     str(path.relative_to(ROOT)))
    ]
    assert found == [], "the sandbox imports the project's code:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("source", "reported"),
    [
        ("import icl\n", "x.py:1: import icl"),
        ("import os, providers.schema as s\n", "x.py:1: import os, providers.schema as s"),
        ("from clients.http import session\n", "x.py:1: from clients.http import session"),
        ("def f():\n    from icl import condition\n", "x.py:2: from icl import condition"),
        ("if TYPE_CHECKING:\n    import components\n", "x.py:2: import components"),
        ("from .. import ops\n", "x.py:1: from .. import ops"),
        ("from ..tools import pulumi_cli\n", "x.py:1: from ..tools import pulumi_cli"),
        ("m = importlib.import_module('icl.condition')\n",
         "x.py:1: importlib.import_module('icl.condition')"),
        ("m = __import__('providers')\n", "x.py:1: __import__('providers')"),
    ],
)
def test_the_check_sees_every_way_of_importing(source: str, reported: str) -> None:
    assert forbidden_imports(source, "x.py") == [reported]


@pytest.mark.parametrize(
    "source",
    [
        "from sandbox.world import World\n",
        "from . import icl_eval\n",
        "from .icl_eval import check\n",
        "import iclx, toolsmith, operator, regex\n",
        "import importlib\nimportlib.import_module(name)\n",
    ],
)
def test_the_sandbox_s_own_and_outside_imports_pass(source: str) -> None:
    assert forbidden_imports(source, "x.py") == []
