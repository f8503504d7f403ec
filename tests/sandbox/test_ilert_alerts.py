"""The fake ilert's alerts, the generic Events API and the Level.io inbound webhook."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox import Sandbox
from tests.ilert_openapi import check_response
from tests.sandbox.helpers import create_source, ilert


def level_envelope(
    event_type: str, alert_id: str = "Z2lkOi8vbGV2ZWwvQWxlcnQvMTIz", **data: Any
) -> dict[str, Any]:
    """A Level webhook body as Level sends it."""
    alert = {
        "id": alert_id,
        "device_id": "Z2lkOi8vbGV2ZWwvRGV2aWNlLzQ1",
        "device_hostname": "WS-042",
        "name": "CPU usage",
        "description": "CPU usage >75.0% for 10 minutes",
        "payload": "top: chrome.exe 80%",
        "severity": "critical",
        "is_resolved": event_type == "alert_resolved",
        "started_at": "2026-01-05T10:00:00Z",
        "resolved_at": None,
    }
    alert.update(data)
    return {
        "event_type": event_type,
        "event_id": "6f1c0000-0000-4000-8000-000000000001",
        "occurred_at": "2026-01-05T10:00:00.000Z",
        "data": alert,
    }


def post_level(sb: Sandbox, source: dict[str, Any], body: object) -> Any:
    """POST to the source's integrationUrl with no Authorization (as Level does)."""
    path = source["integrationUrl"].removeprefix(sb.ilert_url)
    return ilert(sb, token=None).post(path, json=body)


def test_alert_active_opens_a_pending_alert(sandbox: Sandbox) -> None:
    source = create_source(sandbox)
    response = post_level(sandbox, source, level_envelope("alert_active"))
    assert response.status_code == 202
    assert response.json()["responseCode"] == "NEW_ALERT_CREATED"
    [alert] = sandbox.ilert_alerts(source_id=source["id"])
    assert alert["status"] == "PENDING"
    assert alert["alertKey"] == "Z2lkOi8vbGV2ZWwvQWxlcnQvMTIz"
    assert alert["summary"] == "CPU usage on WS-042"
    assert "CPU usage >75.0% for 10 minutes" in alert["details"]
    assert "chrome.exe" in alert["details"]
    assert alert["alertSource"]["id"] == source["id"]
    assert alert["alertSource"]["name"] == source["name"]
    assert alert["severity"] == 2
    assert "resolvedOn" not in alert
    check_response("Alert", alert)
    source_now = ilert(sandbox).get(f"/api/alert-sources/{source['id']}").json()
    assert source_now["status"] == "PENDING"


def test_second_alert_active_appends_case_insensitively(sandbox: Sandbox) -> None:
    source = create_source(sandbox)
    post_level(sandbox, source, level_envelope("alert_active", "KeyABC"))
    again = post_level(sandbox, source, level_envelope("alert_active", "keyabc"))
    assert again.json()["responseCode"] == "EVENT_APPENDED"
    [alert] = sandbox.ilert_alerts(source_id=source["id"])
    log = ilert(sandbox).get(f"/api/alerts/{alert['id']}/log-entries").json()
    assert [entry["logEntryType"] for entry in log] == [
        "AlertReceivedLogEntry",
        "AlertEventAppendedLogEntry",
    ]


def test_alert_resolved_resolves_the_open_alert_and_a_new_active_opens_another(
    sandbox: Sandbox,
) -> None:
    source = create_source(sandbox)
    post_level(sandbox, source, level_envelope("alert_active"))
    resolved = post_level(sandbox, source, level_envelope("alert_resolved"))
    assert resolved.status_code == 202
    assert resolved.json()["responseCode"] == "ALERT_RESOLVED"
    [alert] = sandbox.ilert_alerts(source_id=source["id"])
    assert alert["status"] == "RESOLVED"
    assert alert["resolvedOn"]
    check_response("Alert", alert)
    # RESOLVED is final: the same key opens a new alert
    post_level(sandbox, source, level_envelope("alert_active"))
    statuses = [a["status"] for a in sandbox.ilert_alerts(source_id=source["id"])]
    assert statuses == ["PENDING", "RESOLVED"]  # newest first
    # resolving with no open alert is accepted and ignored
    post_level(sandbox, source, level_envelope("alert_resolved"))
    nothing = post_level(sandbox, source, level_envelope("alert_resolved"))
    assert nothing.status_code == 202
    assert nothing.json()["responseCode"] == "NO_OPEN_ALERT"


def test_other_event_types_are_accepted_and_ignored(sandbox: Sandbox) -> None:
    source = create_source(sandbox)
    body = {"event_type": "device_created", "event_id": "x", "occurred_at": "", "data": {"id": "d"}}
    response = post_level(sandbox, source, body)
    assert response.status_code == 202
    assert sandbox.ilert_alerts() == []
    assert sandbox.ilert_intake[-1]["outcome"] == "ignored"


def test_inactive_source_accepts_but_creates_nothing_and_says_why(sandbox: Sandbox) -> None:
    source = create_source(sandbox, active=False)
    response = post_level(sandbox, source, level_envelope("alert_active"))
    assert response.status_code == 202
    assert sandbox.ilert_alerts() == []
    assert sandbox.ilert_intake[-1]["reason"] == "alert source is inactive"


@pytest.mark.parametrize(
    "body",
    [
        [1, 2],
        {"data": {"id": "a"}},
        {"event_type": "alert_active"},
        {"event_type": "alert_active", "data": {"name": "no id"}},
        {"event_type": "alert_active", "data": "text"},
    ],
)
def test_malformed_level_body_is_400(sandbox: Sandbox, body: object) -> None:
    source = create_source(sandbox)
    assert post_level(sandbox, source, body).status_code == 400
    assert sandbox.ilert_alerts() == []


def test_unknown_key_is_404_and_non_level_source_is_400(sandbox: Sandbox) -> None:
    client = ilert(sandbox, token=None)
    assert (
        client.post(
            "/api/v1/events/levelio/il1levnope", json=level_envelope("alert_active")
        ).status_code
        == 404
    )
    api_source = create_source(sandbox, integrationType="API")
    path = f"/api/v1/events/levelio/{api_source['integrationKey']}"
    assert client.post(path, json=level_envelope("alert_active")).status_code == 400
    assert (
        client.post(f"/api/v1/events/nagios/{api_source['integrationKey']}", json={}).status_code
        == 404
    )


def test_events_api_alert_accept_resolve(sandbox: Sandbox) -> None:
    source = create_source(sandbox, integrationType="API")
    client = ilert(sandbox, token=None)
    key = source["integrationKey"]
    created = client.post(
        "/api/events",
        json={
            "integrationKey": key,
            "eventType": "ALERT",
            "summary": "Host down",
            "alertKey": "srv/mail01",
        },
    )
    assert created.status_code == 202
    assert created.json()["alertKey"] == "srv/mail01"
    assert created.json()["alertUrl"].startswith(f"{sandbox.ilert_url}/api/alerts/")
    assert created.json()["responseCode"] == "NEW_ALERT_CREATED"
    # the legacy apiKey spelling and the legacy /api/v1/events path work too
    accepted = client.post(
        "/api/v1/events", json={"apiKey": key, "eventType": "ACCEPT", "alertKey": "SRV/MAIL01"}
    )
    assert accepted.json()["responseCode"] == "ALERT_ACCEPTED"
    assert sandbox.ilert_alerts()[0]["status"] == "ACCEPTED"
    assert (
        ilert(sandbox).get(f"/api/alert-sources/{source['id']}").json()["status"] == "ALL_ACCEPTED"
    )
    client.post(
        "/api/events",
        json={"integrationKey": key, "eventType": "RESOLVE", "alertKey": "srv/mail01"},
    )
    assert sandbox.ilert_alerts()[0]["status"] == "RESOLVED"


@pytest.mark.parametrize(
    "body",
    [
        {"eventType": "ALERT", "summary": "x"},
        {"integrationKey": "k", "eventType": "PANIC", "summary": "x"},
        {"integrationKey": "k", "eventType": "ALERT"},
        {"integrationKey": "k", "eventType": "RESOLVE"},
        {"integrationKey": "k", "eventType": "ALERT", "summary": "x", "severity": 7},
    ],
)
def test_events_api_validation(sandbox: Sandbox, body: dict[str, Any]) -> None:
    assert ilert(sandbox, token=None).post("/api/events", json=body).status_code == 400


def test_events_api_unknown_key_is_404(sandbox: Sandbox) -> None:
    body = {"integrationKey": "nope", "eventType": "ALERT", "summary": "x"}
    assert ilert(sandbox, token=None).post("/api/events", json=body).status_code == 404


def test_alert_list_filters_in_both_spellings_and_paging(sandbox: Sandbox) -> None:
    first = create_source(sandbox, name="first")
    second = create_source(sandbox, name="second")
    for i in range(3):
        post_level(sandbox, first, level_envelope("alert_active", f"first-{i}"))
    post_level(sandbox, second, level_envelope("alert_active", "second-0"))
    post_level(sandbox, first, level_envelope("alert_resolved", "first-0"))
    client = ilert(sandbox)

    def keys(**params: Any) -> list[str]:
        response = client.get("/api/alerts", params=params)
        assert response.status_code == 200, response.text
        return [a["alertKey"] for a in response.json()]

    assert keys() == ["second-0", "first-2", "first-1", "first-0"]
    assert keys(sources=first["id"]) == keys(**{"alert-source": first["id"]})
    assert keys(sources=first["id"]) == ["first-2", "first-1", "first-0"]
    assert keys(states="PENDING") == keys(state="PENDING") == ["second-0", "first-2", "first-1"]
    assert keys(states=["PENDING", "RESOLVED"], sources=[second["id"]]) == ["second-0"]
    assert keys(state="RESOLVED", **{"alert-source": first["id"]}) == ["first-0"]
    assert keys(**{"start-index": 1, "max-results": 2}) == ["first-2", "first-1"]
    count = client.get("/api/alerts/count", params={"states": "PENDING"}).json()
    assert count == {"count": 3}
    assert client.get("/api/alerts", params={"max-results": 101}).status_code == 400
    assert client.get("/api/alerts", params={"max-results": 100}).status_code == 200
    assert client.get("/api/alerts", params={"states": "OPEN"}).status_code == 400
    assert client.get("/api/alerts", params={"sources": "abc"}).status_code == 400


def test_get_accept_resolve_alert(sandbox: Sandbox) -> None:
    source = create_source(sandbox)
    post_level(sandbox, source, level_envelope("alert_active"))
    alert_id = sandbox.ilert_alerts()[0]["id"]
    client = ilert(sandbox)
    got = client.get(f"/api/alerts/{alert_id}").json()
    assert "customDetails" not in got
    detailed = client.get(f"/api/alerts/{alert_id}", params={"include": "customDetails"}).json()
    assert detailed["customDetails"]["event_type"] == "alert_active"
    accepted = client.put(f"/api/alerts/{alert_id}/accept")
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "ACCEPTED"
    resolved = client.put(f"/api/alerts/{alert_id}/resolve")
    assert resolved.json()["status"] == "RESOLVED"
    assert client.put(f"/api/alerts/{alert_id}/resolve").json()["status"] == "RESOLVED"
    assert client.put(f"/api/alerts/{alert_id}/accept").status_code == 400
    assert client.get("/api/alerts/1").status_code == 404


def test_alerts_outlive_their_source(sandbox: Sandbox) -> None:
    source = create_source(sandbox)
    post_level(sandbox, source, level_envelope("alert_active"))
    sandbox.ilert_delete_alert_source(source["id"])
    [alert] = sandbox.ilert_alerts()
    assert alert["alertSource"] == {
        **alert["alertSource"],
        "id": source["id"],
        "name": source["name"],
    }


def test_integrations_lists_levelio(sandbox: Sandbox) -> None:
    listed = ilert(sandbox, token=None).get("/api/integrations").json()
    assert {"id": "LEVELIO", "integrationPath": "levelio"}.items() <= listed[0].items()
    for item in listed:
        check_response("Integration", item)
