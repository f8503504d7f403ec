"""The program layer's one fixture: collect garbage between tests.

A program run whose resources fail leaves asyncio futures holding the error; when one is
collected, asyncio logs "Future exception was never retrieved" from the future's
finaliser. Collected at a random moment of the next test, inside CPython 3.11's AST
compiler (werkzeug compiles its URL rules with it when a sandbox starts), that finaliser
breaks the compiler's recursion bookkeeping: ``SystemError: AST constructor recursion depth
mismatch``. Collecting after each test runs those finalisers at a harmless point.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _collect_failed_futures() -> Iterator[None]:
    yield
    gc.collect(1)
