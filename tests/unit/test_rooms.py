"""The rooms do not lean on each other (issue 23): ops/ imports nothing of sandbox/, bench/
nothing of tests/ (the sandbox's own rule is tests/sandbox/test_independence.py), and no
code reads Linux's /proc, so the project runs the same on macOS.

Each module is read with ``ast`` (nothing is imported): imports inside functions count too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sandbox.test_independence import forbidden_imports

ROOT = Path(__file__).resolve().parents[2]
RULES = {"ops": ("sandbox",), "bench": ("tests",)}
CODE_ROOMS = (
    "providers", "clients", "icl", "components", "ops", "sandbox", "bench", "tools", "examples",
)


@pytest.mark.parametrize(("room", "forbidden"), sorted(RULES.items()))
def test_a_room_imports_nothing_of_the_rooms_it_must_not_lean_on(
    room: str, forbidden: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tests.sandbox.test_independence.FORBIDDEN", forbidden)
    modules = sorted((ROOT / room).rglob("*.py"))
    assert modules, f"no modules under {room}/"
    found = [
        hit
        for path in modules
        for hit in forbidden_imports(path.read_text(encoding="utf-8"),
                                     str(path.relative_to(ROOT)))
    ]
    assert found == []


def test_the_checker_sees_an_import_of_a_forbidden_room(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tests.sandbox.test_independence.FORBIDDEN", ("sandbox",))
    found = forbidden_imports("def f():\n    from sandbox.credentials import X\n", "ops/x.py")
    assert found == ["ops/x.py:2: from sandbox.credentials import X"]


def test_no_code_reads_linux_proc() -> None:
    """/proc exists on Linux only: process facts come from psutil, which reads each OS."""
    readers = [
        f"{path.relative_to(ROOT)}:{number}"
        for room in (*CODE_ROOMS, "tests")
        for path in sorted((ROOT / room).rglob("*.py"))
        if path.name != "test_rooms.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if '"/proc' in line or "'/proc" in line or 'f"/proc' in line
    ]
    assert readers == []
