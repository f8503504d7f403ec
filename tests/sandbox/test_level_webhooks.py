"""The fake Level's webhooks, against reference/level-webhook-contract.md, over loopback HTTP."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from sandbox import LEVEL_READONLY_KEY, Sandbox
from tests.sandbox.helpers import create_webhook, level

HOOK = "https://hooks.example.com/level"
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
ALL_EVENT_TYPES = [
    "alert_active",
    "alert_resolved",
    "device_created",
    "device_deleted",
    "device_updated",
    "group_created",
    "group_deleted",
    "group_updated",
]


def test_create_returns_201_with_the_documented_fields_only(sandbox: Sandbox) -> None:
    response = level(sandbox).post(
        "/v2/webhooks",
        json={"url": HOOK, "event_types": ["alert_resolved", "alert_active"], "secret": "s3cret"},
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "id",
        "url",
        "enabled",
        "event_types",
        "has_secret",
        "group_ids",
        "created_at",
        "updated_at",
    }
    assert body["group_ids"] is None  # the whole organisation by default
    assert body["url"] == HOOK
    assert body["enabled"] is True
    assert body["event_types"] == ["alert_active", "alert_resolved"]
    assert body["has_secret"] is True
    assert "s3cret" not in response.text
    assert ISO_UTC.fullmatch(body["created_at"])
    assert ISO_UTC.fullmatch(body["updated_at"])
    decoded = base64.b64decode(body["id"] + "=" * (-len(body["id"]) % 4)).decode()
    assert re.fullmatch(r"gid://level/Webhook/\d+", decoded)
    assert "=" not in body["id"]


def test_defaults_all_event_types_and_no_secret(sandbox: Sandbox) -> None:
    body = create_webhook(sandbox, HOOK)
    assert body["event_types"] is None
    assert body["has_secret"] is False
    assert body["enabled"] is True


def test_event_types_are_returned_sorted(sandbox: Sandbox) -> None:
    body = create_webhook(sandbox, HOOK, event_types=list(reversed(ALL_EVENT_TYPES)))
    assert body["event_types"] == ALL_EVENT_TYPES


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/x", "http://localhost/x", "http://[::1]:8080/x", HOOK],
)
def test_loopback_may_use_http_others_need_https(sandbox: Sandbox, url: str) -> None:
    assert create_webhook(sandbox, url)["url"] == url


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "url"),
        ({"url": ""}, "url"),
        ({"url": None}, "url"),
        ({"url": 42}, "url"),
        ({"url": "http://hooks.example.com/x"}, "url"),
        ({"url": "http://127.0.0.2/x"}, "url"),
        ({"url": "ftp://hooks.example.com/x"}, "url"),
        ({"url": "hooks.example.com/x"}, "url"),
        ({"url": HOOK, "event_types": []}, "event_types"),
        ({"url": HOOK, "event_types": ["alert.active"]}, "event_types"),
        ({"url": HOOK, "event_types": "alert_active"}, "event_types"),
        ({"url": HOOK, "event_types": ["alert_active", "alert_active"]}, "event_types"),
        ({"url": HOOK, "enabled": "yes"}, "enabled"),
        ({"url": HOOK, "enabled": None}, "enabled"),
        ({"url": HOOK, "secret": 123}, "secret"),
        ({"url": HOOK, "secret": ""}, "secret"),
        ({"url": HOOK, "name": "ilert"}, "unknown field(s): name"),
    ],
)
def test_create_validation_400_names_the_field(
    sandbox: Sandbox, body: dict[str, Any], field: str
) -> None:
    response = level(sandbox).post("/v2/webhooks", json=body)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error"}
    assert response.json()["error"].startswith(field), response.json()
    assert sandbox.level_webhooks() == []


def test_malformed_json_is_400(sandbox: Sandbox) -> None:
    for data in (b"", b"{", b'["url"]'):
        response = level(sandbox).post(
            "/v2/webhooks", data=data, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert set(response.json()) == {"error"}


def test_get_patch_delete(sandbox: Sandbox) -> None:
    client = level(sandbox)
    created = create_webhook(sandbox, HOOK, event_types=["alert_active"])
    path = f"/v2/webhooks/{created['id']}"
    assert client.get(path).json() == created
    patched = client.patch(path, json={"enabled": False, "event_types": None})
    assert patched.status_code == 200
    assert patched.json()["enabled"] is False
    assert patched.json()["event_types"] is None
    assert patched.json()["url"] == HOOK
    assert patched.json()["created_at"] == created["created_at"]
    assert client.patch(path, json={"url": "https://other.example.com/"}).json()["url"] == (
        "https://other.example.com/"
    )
    assert client.get(path).json()["enabled"] is False
    deleted = client.delete(path)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert client.get(path).status_code == 404
    assert client.delete(path).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": None}, "url"),
        ({"url": "http://example.com"}, "url"),
        ({"enabled": None}, "enabled"),
        ({"event_types": []}, "event_types"),
        ({"secret": 5}, "secret"),
        ({"id": "x"}, "unknown field(s): id"),
        ({"has_secret": True}, "unknown field(s): has_secret"),
    ],
)
def test_patch_validation_400(sandbox: Sandbox, body: dict[str, Any], field: str) -> None:
    created = create_webhook(sandbox, HOOK)
    response = level(sandbox).patch(f"/v2/webhooks/{created['id']}", json=body)
    assert response.status_code == 400
    assert response.json()["error"].startswith(field)
    assert level(sandbox).get(f"/v2/webhooks/{created['id']}").json() == created


def test_secret_is_write_only_and_null_removes_it(sandbox: Sandbox) -> None:
    client = level(sandbox)
    created = create_webhook(sandbox, HOOK)
    path = f"/v2/webhooks/{created['id']}"
    with_secret = client.patch(path, json={"secret": "topsecret"})
    assert with_secret.json()["has_secret"] is True
    assert "topsecret" not in with_secret.text
    assert "topsecret" not in client.get(path).text
    assert "topsecret" not in client.get("/v2/webhooks").text
    assert client.patch(path, json={"enabled": True}).json()["has_secret"] is True
    assert client.patch(path, json={"secret": None}).json()["has_secret"] is False
    assert client.get(path).json()["has_secret"] is False


@pytest.mark.parametrize(
    "webhook_id", ["nope", "Z2lkOi8vbGV2ZWwvV2ViaG9vay85OTk", "Z2lkOi8vbGV2ZWwvQWxlcnQvMQ"]
)
def test_unknown_id_is_404(sandbox: Sandbox, webhook_id: str) -> None:
    client = level(sandbox)
    for method in ("GET", "PATCH", "DELETE"):
        response = client.request(method, f"/v2/webhooks/{webhook_id}", json={"enabled": True})
        assert response.status_code == 404
        assert set(response.json()) == {"error"}


@pytest.mark.parametrize("key", [None, "", "Bearer sandbox-level-key", "wrong"])
def test_missing_or_unknown_key_is_401(sandbox: Sandbox, key: str | None) -> None:
    client = level(sandbox, key=None)
    headers = {"Authorization": key} if key is not None else {}
    for method, path in (
        ("GET", "/v2/webhooks"),
        ("POST", "/v2/webhooks"),
        ("GET", "/v2/alerts"),
        ("POST", "/sandbox/alerts"),
        ("GET", "/v2/unknown"),
    ):
        response = client.request(method, path, headers=headers, json={"url": HOOK})
        assert response.status_code == 401, (method, path)
        assert response.json() == {"error": "Access denied"}


def test_read_only_key_reads_but_every_write_is_403(sandbox: Sandbox) -> None:
    created = create_webhook(sandbox, HOOK)
    alert = sandbox.raise_level_alert()
    read_only = level(sandbox, key=LEVEL_READONLY_KEY)
    assert read_only.get("/v2/webhooks").status_code == 200
    assert read_only.get(f"/v2/webhooks/{created['id']}").status_code == 200
    assert read_only.get("/v2/alerts").status_code == 200
    for method, path in (
        ("POST", "/v2/webhooks"),
        ("PATCH", f"/v2/webhooks/{created['id']}"),
        ("DELETE", f"/v2/webhooks/{created['id']}"),
        ("POST", f"/v2/alerts/{alert['id']}/resolve"),
        ("POST", "/sandbox/alerts"),
    ):
        response = read_only.request(method, path, json={"url": HOOK})
        assert response.status_code == 403, (method, path)
        assert set(response.json()) == {"error"}
    assert sandbox.level_webhooks() == [created]
    assert sandbox.raise_level_alert()["is_resolved"] is False


def test_cursor_paging_forwards_and_backwards(sandbox: Sandbox) -> None:
    client = level(sandbox)
    ids = [create_webhook(sandbox, f"{HOOK}/{i}")["id"] for i in range(7)]
    default = client.get("/v2/webhooks").json()
    assert default == {"data": default["data"], "has_more": False}
    assert [w["id"] for w in default["data"]] == ids

    seen: list[str] = []
    params: dict[str, Any] = {"limit": 3}
    for _ in range(5):  # bounded
        page = client.get("/v2/webhooks", params=params).json()
        seen.extend(w["id"] for w in page["data"])
        if not page["has_more"]:
            break
        params = {"limit": 3, "starting_after": page["data"][-1]["id"]}
    assert seen == ids

    before_last = client.get("/v2/webhooks", params={"limit": 3, "ending_before": ids[6]}).json()
    assert [w["id"] for w in before_last["data"]] == ids[3:6]
    assert before_last["has_more"] is True
    first_page = client.get("/v2/webhooks", params={"limit": 3, "ending_before": ids[3]}).json()
    assert [w["id"] for w in first_page["data"]] == ids[0:3]
    assert first_page["has_more"] is False
    after_last = client.get("/v2/webhooks", params={"starting_after": ids[6]}).json()
    assert after_last == {"data": [], "has_more": False}

    # a deleted object still works as a cursor
    client.delete(f"/v2/webhooks/{ids[2]}")
    after_deleted = client.get("/v2/webhooks", params={"limit": 2, "starting_after": ids[2]}).json()
    assert [w["id"] for w in after_deleted["data"]] == ids[3:5]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": "ten"},
        {"starting_after": "garbage"},
        {"ending_before": "Z2lkOi8vbGV2ZWwvQWxlcnQvMQ"},
        {
            "starting_after": "Z2lkOi8vbGV2ZWwvV2ViaG9vay8x",
            "ending_before": "Z2lkOi8vbGV2ZWwvV2ViaG9vay8x",
        },
    ],
)
def test_bad_paging_parameters_are_400(sandbox: Sandbox, params: dict[str, Any]) -> None:
    response = level(sandbox).get("/v2/webhooks", params=params)
    assert response.status_code == 400
    assert set(response.json()) == {"error"}


def test_limit_bounds_are_inclusive(sandbox: Sandbox) -> None:
    for _ in range(2):
        create_webhook(sandbox, HOOK)
    assert level(sandbox).get("/v2/webhooks", params={"limit": 1}).json()["has_more"] is True
    assert level(sandbox).get("/v2/webhooks", params={"limit": 100}).status_code == 200
