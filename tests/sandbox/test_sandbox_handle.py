"""The ``Sandbox`` handle: out-of-band edits, the request log, state files, safety checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox import ApiError, RecordedRequest, Sandbox
from tests.sandbox.helpers import create_source, create_webhook, ilert, level, receiver


def test_refuses_non_loopback_hosts() -> None:
    for host in ("0.0.0.0", "192.168.1.10", "example.com", "::"):  # noqa: S104
        with pytest.raises(ValueError, match="loopback"):
            Sandbox(host=host)


def test_start_twice_is_an_error(sandbox: Sandbox) -> None:
    with pytest.raises(RuntimeError, match="already running"):
        sandbox.start()


def test_urls_are_loopback_with_real_ports(sandbox: Sandbox) -> None:
    for url in (sandbox.ilert_url, sandbox.level_url):
        assert url.startswith("http://127.0.0.1:")
        assert int(url.rsplit(":", 1)[1]) > 0
    assert sandbox.ilert_url != sandbox.level_url


def test_request_log_records_api_calls_with_status(sandbox: Sandbox) -> None:
    ilert(sandbox).get("/api/alert-sources", params={"max-results": 5})
    ilert(sandbox, token=None).get("/api/alert-sources")
    level(sandbox).get("/v2/nothing")
    level(sandbox).get("/sandbox/deliveries")  # control route: not recorded
    assert sandbox.requests.snapshot() == [
        RecordedRequest("ilert", "GET", "/api/alert-sources", "max-results=5", 200),
        RecordedRequest("ilert", "GET", "/api/alert-sources", "", 401),
        RecordedRequest("level", "GET", "/v2/nothing", "", 404),
    ]
    assert len(sandbox.requests) == 3
    assert sandbox.requests[-1].status == 404
    assert sandbox.count() == 3
    assert sandbox.count(service="ilert") == 2
    assert sandbox.count(method="get", path_prefix="/v2/") == 1
    assert sandbox.count(service="level", method="POST") == 0
    sandbox.requests.clear()
    assert sandbox.count() == 0


def test_out_of_band_alert_source_edits_show_up_over_http(sandbox: Sandbox) -> None:
    source = create_source(sandbox, teams=[{"id": 1}])
    path = f"/api/alert-sources/{source['id']}"
    edited = sandbox.ilert_edit_alert_source(
        source["id"], name="renamed in the UI", escalationPolicy=2, teams=[2], active=False
    )
    assert edited["name"] == "renamed in the UI"
    over_http = ilert(sandbox).get(path).json()
    assert over_http["name"] == "renamed in the UI"
    assert over_http["escalationPolicy"]["id"] == 2
    assert over_http["teams"] == [{"id": 2, "name": "Service Desk"}]
    assert over_http["active"] is False
    assert over_http["integrationKey"] == source["integrationKey"]
    with pytest.raises(ApiError, match=r"^400: .*alertCreation") as invalid:
        sandbox.ilert_edit_alert_source(source["id"], alertCreation="NEVER")
    assert invalid.value.status == 400
    assert "alertCreation" in invalid.value.message
    with pytest.raises(ApiError, match=r"^404: ") as missing:
        sandbox.ilert_edit_alert_source(424242, name="x")
    assert missing.value.status == 404
    sandbox.ilert_delete_alert_source(source["id"])
    assert ilert(sandbox).get(path).status_code == 404
    assert sandbox.ilert_alert_sources() == []


def test_out_of_band_webhook_edits_show_up_over_http(sandbox: Sandbox) -> None:
    webhook = create_webhook(sandbox, "https://hooks.example.com/a", event_types=["alert_active"])
    path = f"/v2/webhooks/{webhook['id']}"
    sandbox.level_edit_webhook(webhook["id"], enabled=False, event_types=["alert_resolved"])
    over_http = level(sandbox).get(path).json()
    assert over_http["enabled"] is False
    assert over_http["event_types"] == ["alert_resolved"]
    with pytest.raises(ApiError, match=r"^400: .*url"):
        sandbox.level_edit_webhook(webhook["id"], url="http://example.com")
    sandbox.level_delete_webhook(webhook["id"])
    assert level(sandbox).get(path).status_code == 404
    assert sandbox.level_webhooks() == []


def test_ilert_alerts_helper_filters(sandbox: Sandbox) -> None:
    source = create_source(sandbox)
    create_webhook(sandbox, source["integrationUrl"])
    first = sandbox.raise_level_alert(name="one")
    sandbox.raise_level_alert(name="two")
    sandbox.resolve_level_alert(first["id"])
    assert len(sandbox.ilert_alerts()) == 2
    assert [a["summary"] for a in sandbox.ilert_alerts(states=["PENDING"])] == ["two on WS-042"]
    assert len(sandbox.ilert_alerts(source_id=source["id"], states=["RESOLVED"])) == 1
    assert sandbox.ilert_alerts(source_id=1) == []


def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "world" / "sandbox.json"
    with Sandbox(state_file=state) as first:
        source = create_source(first, name="persisted", teams=[{"id": 2}])
        webhook = create_webhook(first, "http://127.0.0.1:9/hook", secret="kept")
        alert = first.raise_level_alert()
        policy = first.ilert_add_escalation_policy("Extra")
    saved = json.loads(state.read_text())
    assert saved["version"] == 1
    assert not list(state.parent.glob("*.tmp"))
    with Sandbox(state_file=state) as second, receiver() as hook:
        again = ilert(second).get(f"/api/alert-sources/{source['id']}").json()
        assert again["name"] == "persisted"
        assert again["integrationKey"] == source["integrationKey"]
        assert again["teams"] == source["teams"]
        assert again["integrationUrl"].startswith(second.ilert_url)
        assert level(second).get(f"/v2/webhooks/{webhook['id']}").json() == webhook
        assert level(second).get(f"/v2/alerts/{alert['id']}").json() == alert
        assert ilert(second).get(f"/api/escalation-policies/{policy['id']}").status_code == 200
        assert len(second.deliveries) == 1
        # ids continue: nothing is reused after a restart
        assert create_source(second)["id"] > source["id"]
        # the secret survived too: deliveries are still signed
        second.level_edit_webhook(webhook["id"], url=hook.url)
        second.raise_level_alert()
        assert hook.received[0].headers["X-Level-Signature"].startswith("sha256=")


def test_unreadable_state_file_is_a_clear_error(tmp_path: Path) -> None:
    state = tmp_path / "broken.json"
    state.write_text("{not json")
    with pytest.raises(ValueError, match="cannot load sandbox state"):
        Sandbox(state_file=state)
