"""Fixtures of the real-CLI layer (``make e2e``): the CLI must be there, or the run fails.

These tests are not part of ``make test`` (pyproject's testpaths leave tests/cli out): they
need the Pulumi CLI that ``make pulumi`` finds or builds, and take minutes.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.cli.harness import COST_PROPERTY, STORY_COSTS, cli_dir
from tools import pulumi_cli


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A CLI story is slow: give each one minutes, not the suite's default two."""
    for item in items:
        item.add_marker(pytest.mark.timeout(600))


@pytest.fixture(scope="session", autouse=True)
def _the_cli_is_there() -> None:
    """Fail at once, saying how to get the CLI, rather than once per story."""
    found = pulumi_cli.cli_version(cli_dir() / "pulumi")
    pinned = pulumi_cli.pinned_version()
    if found is None:
        pytest.fail(f"No Pulumi CLI in {cli_dir()}: run `make pulumi` (or `make e2e`).")
    if tuple(map(int, found.split("."))) < tuple(map(int, pinned.split("."))):
        pytest.fail(f"The Pulumi CLI in {cli_dir()} is v{found}, older than the pinned v{pinned}.")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Collect each story's cost from its report (here or from an xdist worker)."""
    for name, value in report.user_properties:
        if name == COST_PROPERTY and isinstance(value, dict):
            STORY_COSTS[report.nodeid.rsplit("::", 1)[-1]] = Counter(value)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per story: the requests it sent to each API, by method."""
    if not STORY_COSTS:
        return
    terminalreporter.write_sep("-", "requests per story (sandbox log)")
    for story, counts in STORY_COSTS.items():
        cost = ", ".join(f"{key} {n}" for key, n in sorted(counts.items())) or "none"
        terminalreporter.write_line(f"{sum(counts.values()):4d}  {story}: {cost}")
