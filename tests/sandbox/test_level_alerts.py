"""The fake Level's alerts and devices, and the ``POST /sandbox/alerts`` control route."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox import ApiError, Sandbox
from tests.sandbox.helpers import level

ALERT_FIELDS = {
    "id",
    "device_id",
    "device_hostname",
    "name",
    "description",
    "payload",
    "severity",
    "is_resolved",
    "started_at",
    "resolved_at",
}


def raise_alert(sb: Sandbox, **body: Any) -> dict[str, Any]:
    response = level(sb).post(
        "/sandbox/alerts", json={"device_hostname": "WS-042", "name": "CPU usage", **body}
    )
    assert response.status_code == 201, response.text
    alert: dict[str, Any] = response.json()
    return alert


def test_raise_creates_the_device_once_and_returns_the_alert_object(sandbox: Sandbox) -> None:
    first = raise_alert(sandbox, severity="warning", description="disk", payload="C: 95%")
    assert set(first) == ALERT_FIELDS
    assert first["device_hostname"] == "WS-042"
    assert first["severity"] == "warning"
    assert first["payload"] == "C: 95%"
    assert first["is_resolved"] is False
    assert first["resolved_at"] is None
    second = raise_alert(sandbox)
    assert second["device_id"] == first["device_id"]
    assert second["severity"] == "critical"
    other = raise_alert(sandbox, device_hostname="SRV-01")
    assert other["device_id"] != first["device_id"]
    ungrouped = level(sandbox).get("/v2/devices", params={"group_id": "null"}).json()["data"]
    assert [(d["hostname"], d["group_id"]) for d in ungrouped] == [
        ("WS-042", None), ("SRV-01", None)
    ]
    assert level(sandbox).get(f"/v2/devices/{first['device_id']}").json()["hostname"] == "WS-042"


@pytest.mark.parametrize(
    "body",
    [
        {"device_hostname": ""},
        {"name": ""},
        {"severity": "fatal"},
        {"payload": {"not": "a string"}},
        {"colour": "red"},
    ],
)
def test_raise_validation(sandbox: Sandbox, body: dict[str, Any]) -> None:
    response = level(sandbox).post(
        "/sandbox/alerts", json={"device_hostname": "WS-042", "name": "CPU usage", **body}
    )
    assert response.status_code == 400
    assert set(response.json()) == {"error"}


def test_list_filters_and_paging(sandbox: Sandbox) -> None:
    client = level(sandbox)
    a = raise_alert(sandbox)
    b = raise_alert(sandbox, device_hostname="SRV-01")
    c = raise_alert(sandbox)
    client.post(f"/v2/alerts/{b['id']}/resolve")

    def ids(**params: Any) -> list[str]:
        response = client.get("/v2/alerts", params=params)
        assert response.status_code == 200, response.text
        return [x["id"] for x in response.json()["data"]]

    assert ids() == [a["id"], b["id"], c["id"]]
    assert ids(status="active") == [a["id"], c["id"]]
    assert ids(status="resolved") == [b["id"]]
    assert ids(device_id=a["device_id"]) == [a["id"], c["id"]]
    assert ids(device_id=a["device_id"], status="resolved") == []
    page = client.get("/v2/alerts", params={"limit": 1, "starting_after": a["id"]}).json()
    assert page == {"data": [client.get(f"/v2/alerts/{b['id']}").json()], "has_more": True}
    assert ids(ending_before=c["id"]) == [a["id"], b["id"]]
    assert client.get("/v2/alerts", params={"status": "open"}).status_code == 400
    assert client.get("/v2/alerts", params={"device_id": "nope"}).status_code == 400


def test_get_and_resolve(sandbox: Sandbox) -> None:
    client = level(sandbox)
    alert = raise_alert(sandbox)
    assert client.get(f"/v2/alerts/{alert['id']}").json() == alert
    resolved = client.post(f"/v2/alerts/{alert['id']}/resolve")
    assert resolved.status_code == 200
    assert resolved.json()["is_resolved"] is True
    assert resolved.json()["resolved_at"]
    again = client.post(f"/v2/alerts/{alert['id']}/resolve")
    assert again.status_code == 200
    assert again.json() == resolved.json()
    assert client.get("/v2/alerts/bm9wZQ").status_code == 404
    assert client.post("/v2/alerts/bm9wZQ/resolve").status_code == 404


def test_python_helpers_match_http(sandbox: Sandbox) -> None:
    alert = sandbox.raise_level_alert(device_hostname="WS-7", name="Offline", severity="emergency")
    assert level(sandbox).get(f"/v2/alerts/{alert['id']}").json() == alert
    resolved = sandbox.resolve_level_alert(alert["id"])
    assert resolved["is_resolved"] is True
    with pytest.raises(ApiError, match=r"^400: .*severity") as error:
        sandbox.raise_level_alert(severity="meh")
    assert error.value.status == 400
