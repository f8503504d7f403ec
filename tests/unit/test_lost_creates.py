"""A create whose answer is lost: settled by one look-up, never a duplicate, never an orphan.

The API below really creates the object and then the answer is lost (connection reset,
read timeout, 502/504), as a proxy or a flaky network does. Then `pulumi up` must report
the object it made (so state tracks it: no orphan), and the next `up` must not make another.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
import responses
from pulumi.dynamic import Config, ConfigureRequest
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from clients.http import ResponseLostError, ServerError
from providers import inventory
from providers.ilert_alert_source import IlertAlertSourceProvider
from providers.level_webhook import LevelWebhookProvider

ILERT = "https://ilert.test"
LEVEL = "https://level.test"
URL = "https://api.ilert.com/api/v1/events/levelio/il1lvl0123"
CONFIG = {
    "ilert:apiToken": "tok", "ilert:baseUrl": ILERT, "level:apiKey": "key", "level:baseUrl": LEVEL,
}

Loss = Callable[[], Any]
LOSSES: dict[str, Loss] = {
    "reset after sending": lambda: requests.ConnectionError(
        ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset"))
    ),
    "read timeout": lambda: requests.ReadTimeout(ReadTimeoutError(None, "", "Read timed out.")),  # type: ignore[arg-type]
    "502 after acting": lambda: (502, {}, json.dumps({"message": "bad gateway"})),
    "504 after acting": lambda: (504, {}, json.dumps({"message": "gateway timeout"})),
}


@pytest.fixture(autouse=True)
def _new_process() -> None:
    inventory.forget_all()


def configured(provider: Any) -> Any:
    provider.configure(ConfigureRequest(Config(CONFIG, "level-ilert")))
    return provider


def source_json(source_id: int, name: str) -> dict[str, Any]:
    return {
        "id": source_id, "name": name, "integrationType": "LEVELIO",
        "escalationPolicy": {"id": 1, "name": "Default"}, "integrationKey": "il1lvl0123",
        "integrationUrl": URL, "active": True, "status": "ALL_ACCEPTED", "teams": [],
    }


def ilert_world(acts: bool, loss: Loss) -> list[dict[str, Any]]:
    """ilert with a POST that creates the source (when ``acts``) and then loses the answer."""
    world: list[dict[str, Any]] = []

    def post(request: requests.PreparedRequest) -> Any:
        if acts:
            world.append(source_json(77, json.loads(request.body or b"{}")["name"]))
        return loss()

    responses.add_callback(responses.POST, f"{ILERT}/api/alert-sources", callback=post)
    responses.add_callback(
        responses.GET, f"{ILERT}/api/alert-sources",
        callback=lambda _: (200, {}, json.dumps(world)),
    )
    return world


@pytest.mark.parametrize("loss", LOSSES)
@responses.activate
def test_a_source_created_behind_a_lost_answer_is_found_and_kept(loss: str) -> None:
    world = ilert_world(acts=True, loss=LOSSES[loss])
    provider = configured(IlertAlertSourceProvider())

    result = provider.create(
        provider.check({}, {"name": "Level - Acme", "escalation_policy": 1}).inputs
    )

    assert result.id == "77" and result.outs["integration_url"] == URL
    calls = [(c.request.method, (c.request.url or "").split("?")[0]) for c in responses.calls]
    assert calls == [  # look-up, the one POST, the settling look-up: never a second POST
        ("GET", f"{ILERT}/api/alert-sources"),
        ("POST", f"{ILERT}/api/alert-sources"),
        ("GET", f"{ILERT}/api/alert-sources"),
    ]
    assert len(world) == 1


@pytest.mark.parametrize("loss", LOSSES)
@responses.activate
def test_a_source_not_created_behind_a_lost_answer_fails_and_leaves_nothing(loss: str) -> None:
    world = ilert_world(acts=False, loss=LOSSES[loss])
    provider = configured(IlertAlertSourceProvider())
    inputs = provider.check({}, {"name": "Level - Acme", "escalation_policy": 1}).inputs

    with pytest.raises((ResponseLostError, ServerError), match="POST /api/alert-sources"):
        provider.create(inputs)

    assert world == []
    assert sum(c.request.method == "POST" for c in responses.calls) == 1


@pytest.mark.parametrize("loss", LOSSES)
@responses.activate
def test_a_webhook_created_behind_a_lost_answer_is_found_and_kept(loss: str) -> None:
    world: list[dict[str, Any]] = []

    def post(request: requests.PreparedRequest) -> Any:
        body = json.loads(request.body or b"{}")
        world.append({"id": "wh_1", "url": body["url"], "enabled": True,
                      "event_types": body["event_types"], "has_secret": False})
        return LOSSES[loss]()

    responses.add_callback(responses.POST, f"{LEVEL}/v2/webhooks", callback=post)
    responses.add_callback(
        responses.GET, f"{LEVEL}/v2/webhooks",
        callback=lambda _: (200, {}, json.dumps({"data": world, "has_more": False})),
    )
    provider = configured(LevelWebhookProvider())

    result = provider.create(provider.check({}, {"url": URL}).inputs)

    assert result.id == "wh_1"
    assert [c.request.method for c in responses.calls] == ["GET", "POST", "GET"]
    assert len(world) == 1
