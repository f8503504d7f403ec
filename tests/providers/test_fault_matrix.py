"""Every provider operation rides out or settles every fault: no duplicate, no orphan, no
lost update (cells and figures: tests/providers/fault_matrix.py).

A create whose POST may have acted (its answer lost, or 500/502/504) lists again: the
object found is the one it made; none found proves the POST did nothing, and it is sent
again. So a fault the sandbox injects once is ridden out by every create but one that never
reaches the API.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import pytest

from clients.http import ResponseLostError
from providers import provider_base
from sandbox import Sandbox
from tests.providers.fault_matrix import (
    FAULTS,
    OPERATIONS,
    RESOURCES,
    _config,
    _inputs,
    _provider,
    quick_clients,
    run_cell,
)

# Faults after which the API did not act and the create fails: nothing reached it.
NOTHING_MADE = {"connection refused": "ApiUnreachableError"}


@pytest.fixture(autouse=True)
def _quick() -> Iterator[None]:
    with quick_clients():
        yield


def expected(operation: str, fault: str) -> tuple[str, int]:
    """The outcome a user must see and the objects that must exist afterwards."""
    if fault == "connection refused":
        return "ApiUnreachableError", 0 if operation == "create" else 1
    if operation == "create":
        return (NOTHING_MADE[fault], 0) if fault in NOTHING_MADE else ("ok", 1)
    return "ok", 0 if operation == "delete" else 1


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("kind", RESOURCES)
@pytest.mark.parametrize("operation", OPERATIONS)
def test_cell(sandbox: Sandbox, operation: str, kind: str, fault: str) -> None:
    cell = run_cell(sandbox, operation, kind, fault)

    assert (cell.outcome, cell.objects) == expected(operation, fault)
    if operation == "update" and cell.outcome == "ok":  # the update landed
        if kind == "source":
            (live,) = sandbox.ilert_alert_sources()
            assert live["active"] is False
        else:
            (live,) = sandbox.level_webhooks()
            assert live["enabled"] is False


@pytest.mark.parametrize("kind", RESOURCES)
def test_the_next_up_after_a_failed_create_makes_exactly_one(sandbox: Sandbox, kind: str) -> None:
    """Every POST of a create lost before it acted: sent three times in all, nothing made,
    the create fails; the next ``up`` (a new process) makes exactly one."""
    url = sandbox.ilert_url + "/api/v1/events/levelio/il1lvlmatrix"
    service: Literal["ilert", "level"] = "ilert" if kind == "source" else "level"
    path = "/api/alert-sources" if kind == "source" else "/v2/webhooks"
    posts = provider_base.POST_RETRIES_WHEN_NOTHING_MADE + 1
    sandbox.faults.add(service, "POST", path, mode="reset_before", count=posts)
    first = _provider(kind, _config(sandbox))

    with pytest.raises(ResponseLostError, match=f"POST {path} failed"):
        first.create(_inputs(kind, first, url))
    assert sandbox.count(service, "POST") == posts == 3
    assert sandbox.faults.rules(service) == []  # every one of them was lost

    provider = _provider(kind, _config(sandbox))
    provider.create(_inputs(kind, provider, url))

    if kind == "source":
        assert [s["name"] for s in sandbox.ilert_alert_sources()] == ["Level - Matrix"]
    else:
        assert len(sandbox.level_webhooks()) == 1
