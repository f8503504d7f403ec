"""Fixtures shared by every test layer. Keep this file small: one documented fixture each.

``sandbox``: a fresh fake ilert + fake Level (``sandbox.Sandbox``) per test, started
in-process on free loopback ports and stopped afterwards, so tests never share a world
and can run in parallel. Use ``sandbox.ilert_url`` / ``sandbox.level_url`` with the
credentials ``sandbox.ILERT_TOKEN`` / ``sandbox.LEVEL_API_KEY``.

``pytest_terminal_summary``: when ilert's OpenAPI spec (the referee, tests/ilert_openapi.py)
is absent, the run says so once, with how many schema checks were not made.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox import Sandbox
from tests import ilert_openapi


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A started sandbox with a fresh world (seeded policies 1-2, teams 1-2), stopped after."""
    with Sandbox() as sb:
        yield sb


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say once that the OpenAPI referee did not run, and what that left unchecked."""
    missed = ilert_openapi.NOT_REFEREED
    if not missed:
        return
    tests = {line.split(": ", 1)[0] for line in missed}
    terminalreporter.write_sep("-", "ilert OpenAPI referee")
    terminalreporter.write_line(
        f"The ilert OpenAPI referee did not run: no spec at {ilert_openapi.SPEC_PATH}. "
        f"{len(missed)} schema checks in {len(tests)} tests were not made (the rest of those "
        f"tests ran; tests that only check against the spec were skipped). Put "
        f"ilert-openapi.yml in ../shared/reference/ beside the checkout, or set "
        f"ILERT_OPENAPI_SPEC to its path."
    )
