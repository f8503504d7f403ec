"""The fault matrix: each provider operation against each fault the sandbox can inject.

One cell = (operation, resource, fault). The sandbox injects the fault once on the
operation's write (or, for read, on its listing), the provider runs as the engine would,
and the cell reports what a user would see: the outcome, how many objects exist afterwards
and how many requests the API received. ``python -m tests.providers.fault_matrix`` prints
the whole table (the figures in the closing note of issue 8).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pulumi.dynamic import Config, ConfigureRequest

from clients import http
from clients.http import ApiError
from providers import provider_base
from providers.ilert_alert_source import IlertAlertSourceProvider
from providers.level_webhook import LevelWebhookProvider
from sandbox import ILERT_TOKEN, LEVEL_API_KEY, Sandbox

READ_TIMEOUT = 0.5
FAULTS: dict[str, dict[str, Any]] = {
    "429": {"status": 429},
    "429 Retry-After": {"status": 429, "retry_after": 1},
    "500 after acting": {"status": 500, "mode": "after"},
    "502 after acting": {"status": 502, "mode": "after"},
    "503": {"status": 503},
    "slow past timeout": {"status": None, "mode": "after", "delay_seconds": 1.0},
    "reset before acting": {"mode": "reset_before"},
    "reset after acting": {"mode": "reset_after"},
    "connection refused": {},
}
OPERATIONS = ("create", "read", "update", "delete")
RESOURCES = ("source", "webhook")
NAME = "Level - Matrix"


@dataclass(frozen=True)
class Cell:
    """What one cell ended as: ``ok`` or the error class, objects left, requests made."""

    outcome: str
    objects: int
    requests: int


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def quick_clients() -> Iterator[None]:
    """Short timeouts, backoffs and settling waits so a cell takes a second, not a minute."""
    saved = http.Timeouts, http.RetryPolicy
    settle = provider_base.SETTLE_SECONDS
    http.Timeouts = lambda: saved[0](connect=0.5, read=READ_TIMEOUT)  # type: ignore[assignment,misc]
    http.RetryPolicy = lambda: saved[1](attempts=3, backoff_factor=0.05, backoff_jitter=0)  # type: ignore[assignment,misc]
    provider_base.SETTLE_SECONDS = 0.05
    try:
        yield
    finally:
        http.Timeouts, http.RetryPolicy = saved  # type: ignore[misc]
        provider_base.SETTLE_SECONDS = settle


def _config(sandbox: Sandbox, *, refused: bool = False) -> dict[str, str]:
    dead = f"http://127.0.0.1:{_closed_port()}"
    return {
        "ilert:apiToken": ILERT_TOKEN,
        "ilert:baseUrl": dead if refused else sandbox.ilert_url,
        "level:apiKey": LEVEL_API_KEY,
        "level:baseUrl": dead if refused else sandbox.level_url,
        # A 429 without Retry-After waits for the window: keep the window short here.
        "ilert:rateLimitWindowSeconds": "0.3",
        "level:rateLimitWindowSeconds": "0.3",
        "ilert:rateLimitRequests": "1000",
        "level:rateLimitRequests": "1000",
    }


def _provider(kind: str, config: dict[str, str]) -> Any:
    provider = IlertAlertSourceProvider() if kind == "source" else LevelWebhookProvider()
    provider.configure(ConfigureRequest(Config(config, "level-ilert")))
    return provider


def _objects(sandbox: Sandbox, kind: str) -> int:
    if kind == "source":
        return sum(s["name"] == NAME for s in sandbox.ilert_alert_sources())
    return len(sandbox.level_webhooks())


def _inputs(kind: str, provider: Any, url: str) -> dict[str, Any]:
    raw = {"name": NAME, "escalation_policy": 1} if kind == "source" else {"url": url}
    checked = provider.check({}, raw)
    assert checked.failures == []
    return dict(checked.inputs)


def _fault_target(operation: str, kind: str, object_id: str) -> tuple[str, str, str]:
    service, collection = ("ilert", "/api/alert-sources") if kind == "source" else (
        "level", "/v2/webhooks"
    )
    method = {
        "create": "POST", "read": "GET", "delete": "DELETE",
        "update": "PUT" if kind == "source" else "PATCH",
    }[operation]
    path = collection if operation in ("create", "read") else f"{collection}/{object_id}"
    return service, method, path


def run_cell(sandbox: Sandbox, operation: str, kind: str, fault: str) -> Cell:
    """Run one cell in a fresh provider process: a provider object of its own, so no listing
    or client is carried over from the one that made the object."""
    setup = _provider(kind, _config(sandbox))
    url = sandbox.ilert_url + "/api/v1/events/levelio/il1lvlmatrix"
    inputs = _inputs(kind, setup, url)
    object_id, outputs = "", {}
    if operation != "create":
        created = setup.create(inputs)
        object_id, outputs = created.id, dict(created.outs or {})
    provider = _provider(kind, _config(sandbox, refused=fault == "connection refused"))
    if fault != "connection refused":
        service, method, path = _fault_target(operation, kind, object_id)
        sandbox.faults.add(service, method, path, **FAULTS[fault])
    sandbox.requests.clear()
    outcome = "ok"
    try:
        if operation == "create":
            provider.create(inputs)
        elif operation == "read":
            provider.read(object_id, outputs)
        elif operation == "update":
            changed = {**inputs, "active": False} if kind == "source" else {
                **inputs, "enabled": False,
            }
            provider.update(object_id, outputs, changed)
        else:
            provider.delete(object_id, outputs)
    except ApiError as error:
        outcome = type(error).__name__
    sandbox.wait_idle(timeout=10)
    return Cell(outcome, _objects(sandbox, kind), len(sandbox.requests))


def main() -> None:
    """Print the matrix as a Markdown table."""
    print("| operation | resource | " + " | ".join(FAULTS) + " |")
    print("|---|---|" + "---|" * len(FAULTS))
    with quick_clients():
        for operation in OPERATIONS:
            for kind in RESOURCES:
                cells = []
                for fault in FAULTS:
                    with Sandbox() as sandbox:
                        cell = run_cell(sandbox, operation, kind, fault)
                    cells.append(f"{cell.outcome} · {cell.objects} obj · {cell.requests} req")
                print(f"| {operation} | {kind} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
