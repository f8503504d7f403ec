"""A create whose answer is lost: settled by listing again, never a duplicate, never an orphan.

The API below loses the answer to a POST (connection reset, read timeout, 502/504), as a
proxy or a flaky network does, after creating the object or without doing anything. A POST
that made the object is settled by listing again: `pulumi up` reports the object it made
(state tracks it: no orphan) and never POSTs again. A POST that made nothing is proven so by
two listings a moment apart and is sent again (at most twice): the create then succeeds with
exactly one object, or fails naming the POST with nothing made.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
import responses
from pulumi.dynamic import Config, ConfigureRequest
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from clients.http import ResponseLostError, ServerError
from providers import provider_base
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


SOURCES = f"{ILERT}/api/alert-sources"
WEBHOOKS = f"{LEVEL}/v2/webhooks"


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits between the two settling listings, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)  # provider_base calls time.sleep
    return slept


def calls() -> list[tuple[str, str]]:
    return [
        (str(c.request.method), (c.request.url or "").split("?")[0]) for c in responses.calls
    ]


def configured(provider: Any) -> Any:
    provider.configure(ConfigureRequest(Config(CONFIG, "level-ilert")))
    return provider


def source_json(source_id: int, name: str) -> dict[str, Any]:
    return {
        "id": source_id, "name": name, "integrationType": "LEVELIO",
        "escalationPolicy": {"id": 1, "name": "Default"}, "integrationKey": "il1lvl0123",
        "integrationUrl": URL, "active": True, "status": "ALL_ACCEPTED", "teams": [],
    }


def ilert_world(acts: bool, loss: Loss, *, lost: int = 99) -> list[dict[str, Any]]:
    """ilert with a POST that creates the source (when ``acts``) and then loses the answer;
    after ``lost`` such POSTs, POSTs create and answer 201."""
    world: list[dict[str, Any]] = []
    posts: list[int] = []

    def post(request: requests.PreparedRequest) -> Any:
        posts.append(1)
        made = source_json(77 + len(world), json.loads(request.body or b"{}")["name"])
        if len(posts) > lost:
            world.append(made)
            return (201, {}, json.dumps(made))
        if acts:
            world.append(made)
        return loss()

    responses.add_callback(responses.POST, SOURCES, callback=post)
    responses.add_callback(
        responses.GET, SOURCES, callback=lambda _: (200, {}, json.dumps(world)),
    )
    return world


def level_world(acts: bool, loss: Loss, *, lost: int = 99) -> list[dict[str, Any]]:
    """Level with a POST that creates the webhook (when ``acts``) and then loses the answer;
    after ``lost`` such POSTs, POSTs create and answer 201."""
    world: list[dict[str, Any]] = []
    posts: list[int] = []

    def post(request: requests.PreparedRequest) -> Any:
        posts.append(1)
        body = json.loads(request.body or b"{}")
        made = {"id": f"wh_{len(world) + 1}", "url": body["url"], "enabled": True,
                "event_types": body["event_types"], "has_secret": False}
        if len(posts) > lost:
            world.append(made)
            return (201, {}, json.dumps(made))
        if acts:
            world.append(made)
        return loss()

    responses.add_callback(responses.POST, WEBHOOKS, callback=post)
    responses.add_callback(
        responses.GET, WEBHOOKS,
        callback=lambda _: (200, {}, json.dumps({"data": world, "has_more": False})),
    )
    return world


def create_source() -> Any:
    provider = configured(IlertAlertSourceProvider())
    return provider.create(
        provider.check({}, {"name": "Level - Acme", "escalation_policy": 1}).inputs
    )


def create_webhook() -> Any:
    provider = configured(LevelWebhookProvider())
    return provider.create(provider.check({}, {"url": URL}).inputs)


@pytest.mark.parametrize("loss", LOSSES)
@responses.activate
def test_a_source_created_behind_a_lost_answer_is_found_and_kept(
    loss: str, sleeps: list[float]
) -> None:
    world = ilert_world(acts=True, loss=LOSSES[loss])

    result = create_source()

    assert result.id == "77" and result.outs["integration_url"] == URL
    assert calls() == [  # look-up, the one POST, the settling look-up: never a second POST
        ("GET", SOURCES), ("POST", SOURCES), ("GET", SOURCES),
    ]
    assert len(world) == 1
    assert sleeps == []  # found at the first look: no wait


@pytest.mark.parametrize("loss", LOSSES)
@responses.activate
def test_a_source_not_created_behind_lost_answers_is_sent_twice_more_then_fails_leaving_nothing(
    loss: str, sleeps: list[float]
) -> None:
    world = ilert_world(acts=False, loss=LOSSES[loss])

    with pytest.raises((ResponseLostError, ServerError), match="POST /api/alert-sources"):
        create_source()

    assert world == []
    settle = [("GET", SOURCES), ("GET", SOURCES)]  # two listings, a moment apart
    assert calls() == [
        ("GET", SOURCES),
        ("POST", SOURCES), *settle,
        ("POST", SOURCES), *settle,
        ("POST", SOURCES), *settle,
    ]
    assert sleeps == [provider_base.SETTLE_SECONDS] * 3
    assert provider_base.SETTLE_SECONDS > 0


@pytest.mark.parametrize("loss", ["502 after acting", "reset after sending"])
@responses.activate
def test_a_post_that_made_nothing_is_sent_again_and_makes_exactly_one(
    loss: str, sleeps: list[float]
) -> None:
    world = ilert_world(acts=False, loss=LOSSES[loss], lost=1)

    result = create_source()

    assert [source["id"] for source in world] == [77]
    assert result.id == "77" and result.outs["integration_url"] == URL
    assert calls() == [
        ("GET", SOURCES),
        ("POST", SOURCES), ("GET", SOURCES), ("GET", SOURCES),
        ("POST", SOURCES),
    ]
    assert sleeps == [provider_base.SETTLE_SECONDS]


@responses.activate
def test_a_post_that_made_the_source_is_settled_without_a_second_post_when_listed_late(
    sleeps: list[float],
) -> None:
    """The API answered 502 after creating the source, and lists it only a moment later:
    the second listing finds it, so the POST is not sent again."""
    world: list[dict[str, Any]] = []
    listings: list[int] = []

    def post(request: requests.PreparedRequest) -> Any:
        world.append(source_json(77, json.loads(request.body or b"{}")["name"]))
        return LOSSES["502 after acting"]()

    def listing(_: requests.PreparedRequest) -> Any:
        listings.append(1)
        lagging = len(listings) <= 2  # the create's look-up and the first settling look
        return (200, {}, json.dumps([] if lagging else world))

    responses.add_callback(responses.POST, SOURCES, callback=post)
    responses.add_callback(responses.GET, SOURCES, callback=listing)

    result = create_source()

    assert result.id == "77"
    assert calls() == [("GET", SOURCES), ("POST", SOURCES), ("GET", SOURCES), ("GET", SOURCES)]
    assert len(world) == 1
    assert sleeps == [provider_base.SETTLE_SECONDS]


@responses.activate
def test_two_sources_found_after_a_lost_answer_fail_with_the_posts_error_never_a_guess() -> None:
    world = ilert_world(acts=True, loss=LOSSES["502 after acting"])
    twin = source_json(78, "Level - Acme")  # someone made one of the same name meanwhile
    responses.replace(
        responses.GET, SOURCES, json=[],  # the create's look-up finds none
    )
    responses.add_callback(  # each later listing: the POST's source and its twin
        responses.GET, SOURCES, callback=lambda _: (200, {}, json.dumps([*world, twin]))
    )

    with pytest.raises(ServerError, match=r"POST /api/alert-sources failed \(HTTP 502\)"):
        create_source()

    assert len(world) == 1
    assert calls() == [("GET", SOURCES), ("POST", SOURCES), ("GET", SOURCES)]


@pytest.mark.parametrize("loss", LOSSES)
@responses.activate
def test_a_webhook_created_behind_a_lost_answer_is_found_and_kept(loss: str) -> None:
    world = level_world(acts=True, loss=LOSSES[loss])

    result = create_webhook()

    assert result.id == "wh_1"
    assert calls() == [("GET", WEBHOOKS), ("POST", WEBHOOKS), ("GET", WEBHOOKS)]
    assert len(world) == 1


@responses.activate
def test_a_webhook_post_answered_502_that_made_nothing_is_sent_again_and_makes_one(
    sleeps: list[float],
) -> None:
    world = level_world(acts=False, loss=LOSSES["502 after acting"], lost=1)

    result = create_webhook()

    assert [hook["id"] for hook in world] == ["wh_1"] and result.id == "wh_1"
    assert calls() == [
        ("GET", WEBHOOKS),
        ("POST", WEBHOOKS), ("GET", WEBHOOKS), ("GET", WEBHOOKS),
        ("POST", WEBHOOKS),
    ]
    assert sleeps == [provider_base.SETTLE_SECONDS]


@responses.activate
def test_a_webhook_whose_posts_all_make_nothing_fails_after_three_leaving_nothing() -> None:
    world = level_world(acts=False, loss=LOSSES["504 after acting"])

    with pytest.raises(ServerError, match=r"POST /v2/webhooks failed \(HTTP 504\)"):
        create_webhook()

    assert world == []
    assert [method for method, _ in calls()].count("POST") == 3
