"""Every provider operation rides out or settles every fault: no duplicate, no orphan, no
lost update (cells and figures: tests/providers/fault_matrix.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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

# Faults after which the API did not act and nothing can be settled: the create fails.
NOTHING_MADE = {
    "reset before acting": "ResponseLostError",
    "connection refused": "ApiUnreachableError",
}


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
    cell = run_cell(sandbox, "create", kind, "reset before acting")
    assert (cell.outcome, cell.objects) == ("ResponseLostError", 0)

    provider = _provider(kind, _config(sandbox))
    url = sandbox.ilert_url + "/api/v1/events/levelio/il1lvlmatrix"
    provider.create(_inputs(kind, provider, url))

    if kind == "source":
        assert [s["name"] for s in sandbox.ilert_alert_sources()] == ["Level - Matrix"]
    else:
        assert len(sandbox.level_webhooks()) == 1
