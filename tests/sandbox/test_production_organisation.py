"""The sandbox as a production organisation: no webhook API, webhooks made in "Level's UI".

Level's public API has no webhook endpoints (level-api.md §2): with the switch off, the fake
Level answers 404 on /v2/webhooks like any unknown path, and webhooks are made through the
sandbox's stand-in for Settings > Webhooks (/sandbox/webhooks), with the contract's fields
and rules. What such a webhook delivers is what Level documents: the envelope, signed with
X-Level-Signature (HMAC-SHA256 of the raw body with the secret) when it has one. Level's
alerts API filters by status and pages by cursor; ilert's alerts API takes several sources
and a from/until window on reportTime.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

from sandbox import LEVEL_READONLY_KEY, Sandbox
from tests.ilert_openapi import check_response
from tests.sandbox.helpers import create_source, ilert, level, receiver


def off(sb: Sandbox) -> None:
    answer = level(sb).put("/sandbox/webhook-api", json={"enabled": False})
    assert (answer.status_code, answer.json()) == (200, {"enabled": False})


def test_with_the_webhook_api_off_every_webhook_path_is_unknown(sandbox: Sandbox) -> None:
    assert level(sandbox).get("/sandbox/webhook-api").json() == {"enabled": True}
    off(sandbox)

    for method, path in (("GET", "/v2/webhooks"), ("POST", "/v2/webhooks"),
                         ("GET", "/v2/webhooks/Z2lk"), ("PATCH", "/v2/webhooks/Z2lk"),
                         ("DELETE", "/v2/webhooks/Z2lk")):
        answer = level(sandbox).request(method, path, json={})
        assert (answer.status_code, answer.json()) == (404, {"error": "Not Found"}), path
    assert level(sandbox, key="wrong").get("/v2/webhooks").status_code == 401  # key first
    assert level(sandbox).get("/v2/alerts").status_code == 200  # the documented API answers


def test_webhooks_made_in_the_ui_deliver_signed_as_level_documents(sandbox: Sandbox) -> None:
    off(sandbox)
    with receiver() as hook:
        made = level(sandbox).post("/sandbox/webhooks", json={
            "url": hook.url, "event_types": ["alert_active", "alert_resolved"],
            "secret": "whsec-ui",
        })
        assert made.status_code == 201, made.text
        assert made.json()["has_secret"] is True and "secret" not in made.json()

        alert = sandbox.raise_level_alert("WS-042", "CPU usage", "critical")

    (received,) = hook.received
    expected = hmac.new(b"whsec-ui", received.body, hashlib.sha256).hexdigest()
    assert received.headers["X-Level-Signature"] == f"sha256={expected}"
    envelope = json.loads(received.body)
    assert (envelope["event_type"], envelope["data"]["id"]) == ("alert_active", alert["id"])
    assert set(envelope) == {"event_type", "event_id", "occurred_at", "data"}


def test_the_ui_lists_edits_and_deletes_with_the_contracts_rules(sandbox: Sandbox) -> None:
    off(sandbox)
    ui = level(sandbox)
    bad = ui.post("/sandbox/webhooks", json={"url": "http://example.com/hook"})
    assert bad.status_code == 400 and "https://" in bad.json()["error"]
    made = ui.post("/sandbox/webhooks", json={"url": "https://hooks.example/x"}).json()

    edited = ui.patch(f"/sandbox/webhooks/{made['id']}", json={"enabled": False}).json()
    assert edited["enabled"] is False
    assert [w["id"] for w in ui.get("/sandbox/webhooks").json()["data"]] == [made["id"]]
    assert ui.delete(f"/sandbox/webhooks/{made['id']}").status_code == 204
    assert ui.get("/sandbox/webhooks").json()["data"] == []
    assert level(sandbox, key=LEVEL_READONLY_KEY).post(
        "/sandbox/webhooks", json={"url": "https://hooks.example/y"}).status_code == 403
    assert level(sandbox, key=None).get("/sandbox/webhooks").status_code == 401


def test_the_switch_survives_a_restart_with_a_state_file(tmp_path: Path) -> None:
    state = tmp_path / "world.json"
    with Sandbox(state_file=state) as first:
        off(first)
    with Sandbox(state_file=state) as second:
        assert level(second).get("/v2/webhooks").status_code == 404


def test_levels_alerts_filter_by_status_and_page_by_cursor(sandbox: Sandbox) -> None:
    raised = [sandbox.raise_level_alert(f"WS-{n}", "Disk", "warning") for n in range(3)]
    sandbox.resolve_level_alert(raised[1]["id"])

    active = level(sandbox).get("/v2/alerts", params={"status": "active"}).json()
    first = level(sandbox).get("/v2/alerts", params={"limit": 2}).json()
    rest = level(sandbox).get(
        "/v2/alerts", params={"limit": 2, "starting_after": first["data"][-1]["id"]}
    ).json()

    assert [a["id"] for a in active["data"]] == [raised[0]["id"], raised[2]["id"]]
    assert (len(first["data"]), first["has_more"]) == (2, True)
    assert ([a["id"] for a in rest["data"]], rest["has_more"]) == ([raised[2]["id"]], False)


def test_ilerts_alerts_take_several_sources_and_a_report_time_window(sandbox: Sandbox) -> None:
    a, b = (create_source(sandbox, name=f"Level - {n}") for n in ("A", "B"))
    for source in (a, b):
        level(sandbox).post("/v2/webhooks", json={"url": source["integrationUrl"]})
    alert = sandbox.raise_level_alert("WS-1", "Disk", "warning")
    (opened,) = sandbox.ilert_alerts(source_id=a["id"])

    def listed(**params: object) -> list[tuple[int, str]]:
        answer = ilert(sandbox).get("/api/alerts", params=params)
        assert answer.status_code == 200, answer.text
        for each in answer.json():
            check_response("Alert", each)
        return sorted((x["alertSource"]["id"], x["alertKey"]) for x in answer.json())

    both = listed(sources=[a["id"], b["id"]], **{"from": "2000-01-01T00:00:00.000Z"})
    assert both == sorted([(a["id"], alert["id"]), (b["id"], alert["id"])])
    assert listed(sources=[a["id"]], until="2000-01-01T00:00:00Z") == []
    at = {"from": opened["reportTime"], "until": opened["reportTime"]}  # inclusive
    assert listed(sources=[a["id"]], **at) == [(a["id"], alert["id"])]
    wrong = ilert(sandbox).get("/api/alerts", params={"from": "yesterday"})
    assert wrong.status_code == 400 and "ISO-UTC" in wrong.json()["message"]
    count = ilert(sandbox).get("/api/alerts/count", params={"until": "2000-01-01T00:00:00Z"})
    assert count.json() == {"count": 0}
