"""Fixtures shared by every test layer. Keep this file small: one documented fixture each.

``sandbox``: a fresh fake ilert + fake Level (``sandbox.Sandbox``) per test, started
in-process on free loopback ports and stopped afterwards, so tests never share a world
and can run in parallel. Use ``sandbox.ilert_url`` / ``sandbox.level_url`` with the
credentials ``sandbox.ILERT_TOKEN`` / ``sandbox.LEVEL_API_KEY``.

``pytest_terminal_summary``: when ilert's OpenAPI spec (the referee, tests/ilert_openapi.py)
is absent, the run says so once, why, and how many schema checks were not made (under
pytest-xdist too: ``pytest_sessionfinish``/``pytest_testnodedown`` carry each worker's count).
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


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A pytest-xdist worker hands the checks it could not make to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["ilert_not_refereed"] = list(ilert_openapi.NOT_REFEREED)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """The controller collects each worker's unmade checks (the summary runs here)."""
    ilert_openapi.NOT_REFEREED.extend(getattr(node, "workeroutput", {}).get(
        "ilert_not_refereed", []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say that the OpenAPI referee did not run, why, and what that left unchecked; or that it
    ran against another spec than the pinned one."""
    unpinned = ilert_openapi.unpinned()
    if unpinned:
        terminalreporter.write_sep("-", "ilert OpenAPI referee")
        terminalreporter.write_line(f"Note: {unpinned}.")
    missed = ilert_openapi.NOT_REFEREED
    if not missed:
        return
    tests = {line.split(": ", 1)[0] for line in missed}
    terminalreporter.write_sep("=", "ilert OpenAPI referee: NOT RUN", yellow=True, bold=True)
    terminalreporter.write_line(
        f"The ilert OpenAPI referee did not run: {ilert_openapi.why_absent()}. "
        f"{len(missed)} schema checks in {len(tests)} tests were not made (the rest of those "
        f"tests ran; tests that only check against the spec were skipped). Run `make "
        f"ilert-openapi` once (it fetches ilert's spec, pinned by its hash), or set "
        f"ILERT_OPENAPI_SPEC to a copy of it."
    )
