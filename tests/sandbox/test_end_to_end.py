"""The seed's flow, all over loopback HTTP: ilert LEVELIO source ← Level webhook ← Level alert."""

from __future__ import annotations

from typing import Any

from sandbox import Sandbox
from tests.sandbox.helpers import create_source, create_webhook, ilert, level


def ilert_alerts(sb: Sandbox, source_id: int, **params: Any) -> list[dict[str, Any]]:
    response = ilert(sb).get("/api/alerts", params={"sources": source_id, **params})
    assert response.status_code == 200
    alerts: list[dict[str, Any]] = response.json()
    return alerts


def raise_level_alert(sb: Sandbox) -> dict[str, Any]:
    response = level(sb).post(
        "/sandbox/alerts",
        json={"device_hostname": "WS-042", "name": "CPU usage", "severity": "critical"},
    )
    assert response.status_code == 201
    alert: dict[str, Any] = response.json()
    return alert


def test_level_alert_opens_and_resolves_one_ilert_alert(sandbox: Sandbox) -> None:
    source = create_source(sandbox, name="Level - Acme", setupStatus="FINISHED")
    create_webhook(
        sandbox,
        source["integrationUrl"],
        event_types=["alert_active", "alert_resolved"],
        secret="whsec",
    )

    level_alert = raise_level_alert(sandbox)
    [opened] = ilert_alerts(sandbox, source["id"])
    assert opened["status"] == "PENDING"
    assert opened["alertKey"] == level_alert["id"]
    assert opened["summary"] == "CPU usage on WS-042"
    assert ilert_alerts(sandbox, source["id"], states="PENDING") == [opened]

    resolved = level(sandbox).post(f"/v2/alerts/{level_alert['id']}/resolve")
    assert resolved.status_code == 200
    [closed] = ilert_alerts(sandbox, source["id"])
    assert closed["id"] == opened["id"]
    assert closed["status"] == "RESOLVED"
    assert [d["succeeded"] for d in sandbox.deliveries] == [True, True]
    assert sandbox.count("ilert", "POST", "/api/v1/events/levelio/") == 2


def test_only_alert_resolved_subscribed_opens_nothing(sandbox: Sandbox) -> None:
    source = create_source(sandbox)
    create_webhook(sandbox, source["integrationUrl"], event_types=["alert_resolved"])
    level_alert = raise_level_alert(sandbox)
    assert ilert_alerts(sandbox, source["id"]) == []
    level(sandbox).post(f"/v2/alerts/{level_alert['id']}/resolve")
    assert ilert_alerts(sandbox, source["id"]) == []  # one-way sync: nothing to resolve
    assert sandbox.ilert_intake[-1]["outcome"] == "ignored"


def test_inactive_source_opens_nothing(sandbox: Sandbox) -> None:
    source = create_source(sandbox, active=False)
    create_webhook(
        sandbox, source["integrationUrl"], event_types=["alert_active", "alert_resolved"]
    )
    raise_level_alert(sandbox)
    assert ilert_alerts(sandbox, source["id"]) == []
    assert sandbox.deliveries[-1]["succeeded"] is True  # ilert answered 202
    assert sandbox.ilert_intake[-1]["reason"] == "alert source is inactive"


def test_deleted_source_makes_deliveries_fail_with_404(sandbox: Sandbox) -> None:
    source = create_source(sandbox)
    create_webhook(sandbox, source["integrationUrl"])
    ilert(sandbox).delete(f"/api/alert-sources/{source['id']}")
    raise_level_alert(sandbox)
    assert sandbox.deliveries[-1]["attempts"] == [{"status": 404}] * 3
