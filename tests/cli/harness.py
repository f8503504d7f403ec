"""The e2e stories' harness: the project copy driven through the real CLI is
``tools/cli_harness.py`` (``bench/`` uses it too and imports nothing from ``tests/``); this
module hands its names on, and adds what only pytest needs: each story's API calls, kept for
the summary at the end of ``make e2e``."""

from __future__ import annotations

from collections import Counter

import pytest

from sandbox import Sandbox
from tools.cli_harness import (
    COMMAND_TIMEOUT_SECONDS,
    DRIFT_ENV,
    EXIT_DRIFT,
    PASSPHRASE,
    PROGRAM,
    REPO,
    Project,
    Run,
    cli_dir,
    sandbox_secrets,
)

# What each story cost, as the sandbox logged it: test id -> "ilert GET" -> count (printed
# at the end of `make e2e` by tests/cli/conftest.py, which collects them from each test's
# report, so that they reach the summary from pytest-xdist's workers too).
STORY_COSTS: dict[str, Counter[str]] = {}
COST_PROPERTY = "story_cost"


def record_cost(item: pytest.Item, sandbox: Sandbox) -> None:
    """Keep one story's API calls (the sandbox's request log) for the summary at the end."""
    counts = Counter(f"{r.service} {r.method}" for r in sandbox.requests)
    item.user_properties.append((COST_PROPERTY, dict(counts)))


__all__ = [
    "COMMAND_TIMEOUT_SECONDS",
    "COST_PROPERTY",
    "DRIFT_ENV",
    "EXIT_DRIFT",
    "PASSPHRASE",
    "PROGRAM",
    "REPO",
    "STORY_COSTS",
    "Project",
    "Run",
    "cli_dir",
    "record_cost",
    "sandbox_secrets",
]
