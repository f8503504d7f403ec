"""Our typed clients against the real sandbox over loopback: the contract end to end."""

from __future__ import annotations

import time

import pytest

from clients.http import (
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    RetryPolicy,
    ServerError,
    UnauthorizedError,
)
from clients.ilert import IlertClient
from clients.level import LevelClient
from sandbox import ILERT_TOKEN, LEVEL_API_KEY, LEVEL_READONLY_KEY, Sandbox
from tests.ilert_openapi import check_request, check_response
from tests.unit.test_ilert_api import body, create_body
from tests.unit.test_level_api import body as webhook_body

FAST = RetryPolicy(attempts=3, backoff_factor=0.05, backoff_jitter=0)


@pytest.fixture
def ilert(sandbox: Sandbox) -> IlertClient:
    return IlertClient(sandbox.ilert_url, ILERT_TOKEN, retry=FAST)


@pytest.fixture
def level(sandbox: Sandbox) -> LevelClient:
    return LevelClient(sandbox.level_url, LEVEL_API_KEY, retry=FAST)


def level_source(name: str = "Level - Acme", **inputs: object) -> dict[str, object]:
    """The body the provider POSTs for an alert source with these inputs (its schema's)."""
    return create_body(name=name, escalation_policy=1, **inputs)


def test_alert_source_crud_round_trip(ilert: IlertClient, sandbox: Sandbox) -> None:
    request = level_source(teams=[2, 1])
    check_request("AlertSourceRel", request)

    created = ilert.create_alert_source(request)
    check_response("AlertSource", sandbox.ilert_alert_source(created.id))
    assert created.integration_url == (
        f"{sandbox.ilert_url}/api/v1/events/levelio/{created.integration_key}"
    )
    assert [t.id for t in created.teams] == [1, 2]
    assert ilert.get_alert_source(created.id) == created

    renamed = body(name="Renamed", escalation_policy=1, active=False)  # an update's PUT
    check_request("AlertSourceRel", renamed)
    updated = ilert.update_alert_source(created.id, renamed)
    assert (updated.name, updated.active, updated.status) == ("Renamed", False, "DISABLED")
    assert [t.id for t in updated.teams] == [1, 2]  # teams left out of the PUT: unchanged

    ilert.delete_alert_source(created.id)
    with pytest.raises(NotFoundError, match=r"GET /api/alert-sources/\d+ failed \(HTTP 404\)"):
        ilert.get_alert_source(created.id)


def test_list_pages_and_find_by_name(ilert: IlertClient, sandbox: Sandbox) -> None:
    for i in range(7):
        ilert.create_alert_source(level_source(f"source {i}"))
    sandbox.requests.clear()

    names = [s.name for s in ilert.list_alert_sources(page_size=3)]

    assert names == [f"source {i}" for i in range(7)]
    assert sandbox.count("ilert", "GET", "/api/alert-sources") == 3
    found = ilert.find_alert_source_by_name("source 5")
    assert found is not None
    assert found.name == "source 5"
    assert ilert.find_alert_source_by_name("source") is None


def test_escalation_policies_page_past_fifty(ilert: IlertClient, sandbox: Sandbox) -> None:
    for i in range(55):
        sandbox.ilert_add_escalation_policy(f"Policy {i:02d}")

    policies = list(ilert.list_escalation_policies())

    assert len(policies) == 57
    found = ilert.find_escalation_policy_by_name("Policy 54")
    assert found is not None
    assert ilert.get_escalation_policy(found.id).name == "Policy 54"


def test_ilert_rejections_arrive_as_typed_errors(ilert: IlertClient, sandbox: Sandbox) -> None:
    with pytest.raises(BadRequestError, match="escalation"):
        ilert.create_alert_source(create_body(name="x", escalation_policy=999))
    with pytest.raises(UnauthorizedError, match=r"HTTP 401.*ilert:apiToken") as caught:
        IlertClient(sandbox.ilert_url, "wrong-token-456", retry=FAST).get_alert_source(1)
    assert "wrong-token-456" not in str(caught.value)


def test_retries_ride_out_injected_faults(ilert: IlertClient, sandbox: Sandbox) -> None:
    sandbox.faults.add("ilert", "GET", "/api/alert-sources", 503, count=2)

    assert list(ilert.list_alert_sources()) == []
    assert sandbox.count("ilert", "GET", "/api/alert-sources") == 3

    sandbox.faults.add("ilert", "GET", "/api/alert-sources", 503, count=None)
    with pytest.raises(ServerError, match=r"HTTP 503.*kept failing"):
        list(ilert.list_alert_sources())


def test_a_post_refused_with_503_is_retried_once_nothing_was_created(
    ilert: IlertClient, sandbox: Sandbox
) -> None:
    sandbox.faults.add("ilert", "POST", "/api/alert-sources", 503, count=1)

    ilert.create_alert_source(level_source())

    assert len(sandbox.ilert_alert_sources()) == 1
    assert sandbox.count("ilert", "POST", "/api/alert-sources") == 2


def test_level_retry_after_is_honoured(level: LevelClient, sandbox: Sandbox) -> None:
    sandbox.faults.add("level", "GET", "/v2/webhooks", 429, count=1, retry_after=1)
    started = time.monotonic()

    assert list(level.list_webhooks()) == []

    assert time.monotonic() - started >= 0.9
    assert sandbox.count("level", "GET", "/v2/webhooks") == 2


def test_webhook_crud_and_cursor_paging(level: LevelClient, sandbox: Sandbox) -> None:
    url = f"{sandbox.ilert_url}/api/v1/events/levelio/il1levabc"
    ids = [
        level.create_webhook(
            webhook_body(url=f"{url}{i}", event_types=["alert_resolved", "alert_active"])
        ).id
        for i in range(5)
    ]

    listed = list(level.list_webhooks(page_size=2))
    assert [w.id for w in listed] == ids
    assert listed[0].event_types == ["alert_active", "alert_resolved"]

    with_secret = level.update_webhook(ids[0], {"secret": "s", "enabled": False})
    assert (with_secret.has_secret, with_secret.enabled) == (True, False)
    assert level.update_webhook(ids[0], {"secret": None}).has_secret is False

    level.delete_webhook(ids[0])
    with pytest.raises(NotFoundError, match=r"GET /v2/webhooks/\S+ failed \(HTTP 404\)"):
        level.get_webhook(ids[0])


def test_level_contract_rejections(level: LevelClient, sandbox: Sandbox) -> None:
    with pytest.raises(BadRequestError, match="url"):
        level.create_webhook({"url": "http://example.com/x", "event_types": None})
    with pytest.raises(ForbiddenError, match=r"HTTP 403.*read & write"):
        LevelClient(sandbox.level_url, LEVEL_READONLY_KEY, retry=FAST).create_webhook(
            webhook_body(url="https://example.com/x")
        )


def test_alert_round_trip_through_both_clients(
    ilert: IlertClient, level: LevelClient, sandbox: Sandbox
) -> None:
    source = ilert.create_alert_source(level_source())
    assert source.integration_url is not None
    level.create_webhook(webhook_body(url=source.integration_url))

    raised = sandbox.raise_level_alert(device_hostname="SRV-01", name="Disk space")
    (opened,) = ilert.list_alerts(source_id=source.id, states=("PENDING",))
    assert opened.alert_key == raised["id"]
    assert opened.summary == "Disk space on SRV-01"
    assert [a.id for a in level.list_alerts(status="active")] == [raised["id"]]

    level.resolve_alert(raised["id"])

    assert ilert.get_alert(opened.id).status == "RESOLVED"
    assert level.get_alert(raised["id"]).is_resolved is True
    assert ilert.list_alerts(source_id=source.id, states=("PENDING",)) == []
