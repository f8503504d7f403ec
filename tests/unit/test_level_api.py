"""The Level client against `responses`: the pinned webhook contract, cursor pages, alerts.

The client sends the body it is given; the webhook's schema (providers/level_webhook.py)
builds that body from a resource's inputs, so the bodies below are the schema's: what the
provider really sends.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses
from responses import matchers

from clients import level_groups
from clients.http import ForbiddenError, NotFoundError, RetryPolicy, UnauthorizedError
from clients.level import Group, LevelClient, WebhookManagementUnavailableError
from providers.level_webhook import SCHEMA

BASE = "https://api.level.test"
KEY = "lvl-key-very-secret"
WEBHOOK_ID = "Z2lkOi8vbGV2ZWwvV2ViaG9vay8x"  # gid://level/Webhook/1


def webhook_json(webhook_id: str = WEBHOOK_ID, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": webhook_id,
        "url": "https://api.ilert.test/api/v1/events/levelio/il1lev0",
        "enabled": True,
        "event_types": ["alert_active", "alert_resolved"],
        "has_secret": False,
        "created_at": "2026-11-26T10:00:00Z",
        "updated_at": "2026-11-26T10:00:00Z",
    }
    body.update(overrides)
    return body


GROUP_ACME = "Z2lkOi8vbGV2ZWwvRGV2aWNlR3JvdXAvMQ"  # gid://level/DeviceGroup/1
GROUPS = [Group(id=GROUP_ACME, name="Acme Corp"), Group(id="g2", name="HQ", parent_id=GROUP_ACME)]
#: Every field of a webhook body in the pinned contract (level-webhook-contract.md).
CONTRACT_FIELDS = {"url", "enabled", "event_types", "secret", "group_ids"}


class GroupNames:
    """The provider's look-ups (``Refs``) over a fixed list of Level groups, no network."""

    def resolve(self, kind: str, ref: Any, setting: str) -> Any:
        assert kind == "device groups"
        return level_groups.resolve(ref, GROUPS)

    def name_of(self, kind: str, object_id: int | str) -> str | None:
        return next((g.name for g in GROUPS if g.id == object_id), None)


def body(olds: dict[str, Any] | None = None, **inputs: Any) -> dict[str, Any]:
    """The body the provider sends for these inputs: a create's POST, or (``olds``: the
    outputs in state) an update's PATCH."""
    return SCHEMA.body(SCHEMA.parse(inputs), GroupNames(), olds)


@pytest.fixture
def level() -> LevelClient:
    return LevelClient(BASE, KEY, retry=RetryPolicy(attempts=2, backoff_factor=0))


@responses.activate
def test_create_sends_the_raw_key_and_the_contract_body(level: LevelClient) -> None:
    responses.post(f"{BASE}/v2/webhooks", status=201, json=webhook_json(has_secret=True))

    created = level.create_webhook(body(url="https://x.test/hook", secret="s3"))

    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == KEY
    assert json.loads(sent.body or b"") == {
        "url": "https://x.test/hook",
        "enabled": True,
        "event_types": ["alert_active", "alert_resolved"],
        "secret": "s3",
    }
    assert created.has_secret is True
    assert "secret" not in created.model_dump()


def test_a_create_without_secret_or_groups_leaves_them_out() -> None:
    assert body(url="https://x.test/hook", enabled=False) == {
        "url": "https://x.test/hook",
        "enabled": False,
        "event_types": ["alert_active", "alert_resolved"],
    }


@responses.activate
def test_the_client_sends_the_body_as_given_and_null_event_types_read_back_as_all(
    level: LevelClient,
) -> None:
    responses.post(f"{BASE}/v2/webhooks", status=201, json=webhook_json(event_types=None))

    created = level.create_webhook({"url": "https://x.test/hook", "event_types": None})

    sent = json.loads(responses.calls[0].request.body or b"")
    assert sent == {"url": "https://x.test/hook", "event_types": None}
    assert created.event_types is None


@responses.activate
def test_patch_sends_the_body_as_given_and_null_secret_removes_it(level: LevelClient) -> None:
    responses.patch(f"{BASE}/v2/webhooks/{WEBHOOK_ID}", json=webhook_json(enabled=False))

    level.update_webhook(WEBHOOK_ID, {"enabled": False, "secret": None})

    assert json.loads(responses.calls[0].request.body or b"") == {"enabled": False, "secret": None}


def test_an_update_removes_a_secret_no_longer_declared_and_resends_only_a_changed_one() -> None:
    had = {"secret": "s3", "has_secret": True, "group_ids": None}
    url = "https://x.test/hook"

    assert body(had, url=url)["secret"] is None
    assert "secret" not in body(had, url=url, secret="s3")
    assert body(had, url=url, secret="s4")["secret"] == "s4"
    assert body({**had, "has_secret": False}, url=url, secret="s3")["secret"] == "s3"


@pytest.mark.parametrize(
    "inputs",
    [
        {"adopt": True, "alert_source_id": "7"},
        {"device_groups": ["Acme Corp"], "secret": "s3", "enabled": False},
        {"event_types": ["alert_active", "alert_resolved", "device_created"]},
    ],
    ids=["adopt", "scoped", "more events"],
)
def test_a_body_carries_only_fields_of_the_contract(inputs: dict[str, Any]) -> None:
    url = "https://x.test/hook"
    for olds in (None, {"has_secret": True, "group_ids": ["g2"], "secret": "old"}):
        assert set(body(olds, url=url, **inputs)) <= CONTRACT_FIELDS


@responses.activate
def test_ids_are_url_encoded(level: LevelClient) -> None:
    odd_id = "abc/def+=="
    responses.get(f"{BASE}/v2/webhooks/abc%2Fdef%2B%3D%3D", json=webhook_json(odd_id))
    responses.delete(f"{BASE}/v2/webhooks/abc%2Fdef%2B%3D%3D", status=204)

    assert level.get_webhook(odd_id).id == odd_id
    level.delete_webhook(odd_id)


@responses.activate
def test_fields_are_every_field_as_level_sent_it(level: LevelClient) -> None:
    responses.get(
        f"{BASE}/v2/webhooks/{WEBHOOK_ID}",
        json=webhook_json(group_ids=[GROUP_ACME], field_level_adds_next_year=1),
    )

    fields = level.get_webhook(WEBHOOK_ID).fields

    assert fields["group_ids"] == [GROUP_ACME]
    assert fields["has_secret"] is False
    assert fields["field_level_adds_next_year"] == 1
    assert "secret" not in fields


@responses.activate
def test_list_follows_starting_after_cursors_until_has_more_is_false(level: LevelClient) -> None:
    pages = [[f"w{i}" for i in range(0, 100)], [f"w{i}" for i in range(100, 130)]]
    responses.get(
        f"{BASE}/v2/webhooks",
        json={"data": [webhook_json(i) for i in pages[0]], "has_more": True},
        match=[matchers.query_param_matcher({"limit": "100"})],
    )
    responses.get(
        f"{BASE}/v2/webhooks",
        json={"data": [webhook_json(i) for i in pages[1]], "has_more": False},
        match=[matchers.query_param_matcher({"limit": "100", "starting_after": "w99"})],
    )

    ids = [w.id for w in level.list_webhooks()]

    assert ids == pages[0] + pages[1]
    assert len(responses.calls) == 2


@pytest.mark.parametrize("operation", ["list", "create"])
@responses.activate
def test_404_on_the_collection_means_no_webhook_api_and_names_manual_mode(
    level: LevelClient, operation: str
) -> None:
    responses.get(f"{BASE}/v2/webhooks", status=404, json={"error": "Not found"})
    responses.post(f"{BASE}/v2/webhooks", status=404, json={"error": "Not found"})

    def call() -> object:
        if operation == "list":
            return list(level.list_webhooks())
        return level.create_webhook(body(url="https://x.test"))

    with pytest.raises(
        WebhookManagementUnavailableError, match="does not offer webhook management"
    ) as caught:
        call()

    text = str(caught.value)
    assert "does not offer webhook management" in text
    assert "level:webhookManagement manual" in text
    assert KEY not in text


@responses.activate
def test_404_on_one_webhook_is_plain_not_found(level: LevelClient) -> None:
    responses.get(f"{BASE}/v2/webhooks/{WEBHOOK_ID}", status=404, json={"error": "not found"})

    with pytest.raises(NotFoundError, match=r"HTTP 404\): not found") as caught:
        level.get_webhook(WEBHOOK_ID)

    assert not isinstance(caught.value, WebhookManagementUnavailableError)


@responses.activate
def test_read_only_key_and_bad_key_errors_name_the_setting(level: LevelClient) -> None:
    responses.post(
        f"{BASE}/v2/webhooks", status=403, json={"error": "This API key is read-only"}
    )
    responses.get(f"{BASE}/v2/webhooks", status=401, json={"error": "Access denied"})

    with pytest.raises(ForbiddenError, match="read-only") as forbidden:
        level.create_webhook(body(url="https://x.test"))
    with pytest.raises(UnauthorizedError, match="LEVEL_API_KEY") as unauthorized:
        list(level.list_webhooks())

    for error in (forbidden.value, unauthorized.value):
        assert KEY not in str(error)


@responses.activate
def test_alerts_list_get_and_resolve(level: LevelClient) -> None:
    alert = {
        "id": "QWxlcnQx", "device_id": "RDE", "device_hostname": "WS-042", "name": "CPU usage",
        "description": "CPU > 75%", "payload": None, "severity": "critical",
        "is_resolved": False, "started_at": "2026-11-26T10:00:00Z", "resolved_at": None,
    }
    responses.get(
        f"{BASE}/v2/alerts",
        json={"data": [alert], "has_more": False},
        match=[matchers.query_param_matcher({"status": "active", "limit": "100"})],
    )
    responses.get(f"{BASE}/v2/alerts/QWxlcnQx", json=alert)
    responses.post(f"{BASE}/v2/alerts/QWxlcnQx/resolve", json={**alert, "is_resolved": True})

    assert [a.device_hostname for a in level.list_alerts(status="active")] == ["WS-042"]
    assert level.get_alert("QWxlcnQx").severity == "critical"
    level.resolve_alert("QWxlcnQx")

    assert responses.calls[-1].request.method == "POST"


# -- routing: device-group scope and Level's groups ---------------------------------------------

@responses.activate
def test_a_scoped_create_sends_group_ids_and_an_org_wide_one_leaves_them_out(
    level: LevelClient,
) -> None:
    responses.post(f"{BASE}/v2/webhooks", status=201, json=webhook_json(group_ids=[GROUP_ACME]))
    scoped = level.create_webhook(body(url="https://x.test/h", device_groups=["Acme Corp"]))
    level.create_webhook(body(url="https://x.test/h"))
    first, second = (json.loads(call.request.body or b"") for call in responses.calls)
    assert first["group_ids"] == [GROUP_ACME]
    assert "group_ids" not in second
    assert "device_groups" not in first
    assert scoped.group_ids == [GROUP_ACME]


@responses.activate
def test_a_patch_sends_group_ids_null_to_make_a_webhook_org_wide(level: LevelClient) -> None:
    responses.patch(f"{BASE}/v2/webhooks/{WEBHOOK_ID}", json=webhook_json())
    url = "https://x.test/h"
    level.update_webhook(WEBHOOK_ID, body({"group_ids": [GROUP_ACME]}, url=url))
    level.update_webhook(WEBHOOK_ID, body({"group_ids": None}, url=url))
    first, second = (json.loads(call.request.body or b"") for call in responses.calls)
    events = ["alert_active", "alert_resolved"]
    assert first == {"url": url, "enabled": True, "event_types": events, "group_ids": None}
    assert second == {"url": url, "enabled": True, "event_types": events}


@responses.activate
def test_groups_are_listed_by_cursor_until_has_more_is_false(level: LevelClient) -> None:
    page = [{"id": f"g{i}", "name": f"Site {i}", "parent_id": GROUP_ACME} for i in range(2)]
    responses.get(
        f"{BASE}/v2/groups", json={"data": page, "has_more": True},
        match=[matchers.query_param_matcher({"limit": "2"})],
    )
    responses.get(
        f"{BASE}/v2/groups", json={"data": [{"id": "g9", "name": "Acme", "parent_id": None}],
                                   "has_more": False},
        match=[matchers.query_param_matcher({"limit": "2", "starting_after": "g1"})],
    )
    groups = list(level.list_groups(page_size=2))
    assert [(g.id, g.name, g.parent_id) for g in groups] == [
        ("g0", "Site 0", GROUP_ACME), ("g1", "Site 1", GROUP_ACME), ("g9", "Acme", None)
    ]


@responses.activate
def test_devices_below_a_group_use_levels_ancestor_filter(level: LevelClient) -> None:
    responses.get(
        f"{BASE}/v2/devices",
        json={"data": [{"id": "d1", "hostname": "ACME-01", "group_id": "g0"}], "has_more": False},
        match=[matchers.query_param_matcher({"limit": "100", "ancestor_group_id": GROUP_ACME})],
    )
    (device,) = level.list_devices(ancestor_group_id=GROUP_ACME)
    assert (device.hostname, device.group_id) == ("ACME-01", "g0")
