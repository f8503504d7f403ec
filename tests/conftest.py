"""Fixtures shared by every test layer. Keep this file small: one documented fixture each.

``sandbox``: a fresh fake ilert + fake Level (``sandbox.Sandbox``) per test, started
in-process on free loopback ports and stopped afterwards, so tests never share a world
and can run in parallel. Use ``sandbox.ilert_url`` / ``sandbox.level_url`` with the
credentials ``sandbox.ILERT_TOKEN`` / ``sandbox.LEVEL_API_KEY``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from providers import http, inventory
from sandbox import Sandbox


@pytest.fixture(autouse=True)
def _own_provider_process() -> None:
    """Each test plays a provider process of its own: no pacing budget (the sandbox's keys
    are the same in every test) or listing carried over from another test."""
    http.forget_limiters()
    inventory.forget_all()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A started sandbox with a fresh world (seeded policies 1-2, teams 1-2), stopped after."""
    with Sandbox() as sb:
        yield sb
