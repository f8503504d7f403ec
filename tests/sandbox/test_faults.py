"""Fault injection: error answers, slow answers, in Python and over the control routes."""

from __future__ import annotations

import time

import pytest
import requests

from sandbox import Sandbox
from tests.sandbox.helpers import create_source, create_webhook, ilert, level


def test_503_rule_with_count_2_answers_twice_then_passes(sandbox: Sandbox) -> None:
    sandbox.faults.add(
        service="ilert", method="GET", path="/api/alert-sources", status=503, count=2
    )
    client = ilert(sandbox)
    first, second, third = (client.get("/api/alert-sources") for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
    assert first.json() == {
        "status": 503,
        "message": first.json()["message"],
        "code": "SERVICE_UNAVAILABLE",
    }
    assert [r.status for r in sandbox.requests] == [503, 503, 200]
    assert sandbox.faults.rules() == []


def test_rule_matches_method_and_path_prefix_only(sandbox: Sandbox) -> None:
    sandbox.faults.add(
        service="ilert", method="POST", path="/api/alert-sources", status=500, count=None
    )
    client = ilert(sandbox)
    assert client.get("/api/alert-sources").status_code == 200
    assert client.get("/api/escalation-policies").status_code == 200
    assert client.post("/api/alert-sources", json={}).status_code == 500
    assert client.post("/api/alert-sources", json={}).status_code == 500  # until cleared
    sandbox.faults.clear()
    assert client.post("/api/alert-sources", json={}).status_code == 400


def test_429_has_retry_after_only_when_the_rule_asks_on_either_service(
    sandbox: Sandbox,
) -> None:
    for service in ("ilert", "level"):
        sandbox.faults.add(service=service, status=429)
        sandbox.faults.add(service=service, status=429, retry_after=7)
    ilert_plain, ilert_header = (ilert(sandbox).get("/api/alert-sources") for _ in range(2))
    level_plain, level_header = (level(sandbox).get("/v2/webhooks") for _ in range(2))
    for plain, with_header in ((ilert_plain, ilert_header), (level_plain, level_header)):
        assert plain.status_code == with_header.status_code == 429
        assert "Retry-After" not in plain.headers  # ilert's behaviour: the default
        assert with_header.headers["Retry-After"] == "7"
    assert ilert_header.json()["code"] == "TOO_MANY_REQUESTS"
    assert set(level_header.json()) == {"error"}


def test_delay_only_rule_slows_then_passes(sandbox: Sandbox) -> None:
    sandbox.faults.add(service="level", method="*", path="/v2/", status=None, delay_seconds=0.3)
    started = time.monotonic()
    response = level(sandbox).get("/v2/webhooks")
    slow = time.monotonic() - started
    assert response.status_code == 200
    assert slow >= 0.3
    started = time.monotonic()
    level(sandbox).get("/v2/webhooks")
    assert time.monotonic() - started < 0.3


def test_faulted_ilert_intake_makes_delivery_retry(sandbox: Sandbox) -> None:
    source = create_source(sandbox)
    create_webhook(sandbox, source["integrationUrl"])
    sandbox.faults.add(service="ilert", method="POST", path="/api/v1/events/", status=503, count=2)
    sandbox.raise_level_alert()
    assert sandbox.deliveries[0]["attempts"] == [{"status": 503}, {"status": 503}, {"status": 202}]
    assert len(sandbox.ilert_alerts()) == 1


def test_control_routes_on_both_apps(sandbox: Sandbox) -> None:
    for base, api_path in ((sandbox.ilert_url, "/api/teams"), (sandbox.level_url, "/v2/alerts")):
        created = requests.post(
            f"{base}/sandbox/faults",
            json={"method": "GET", "path": api_path, "status": 502, "count": 1},
            timeout=5,
        )
        assert created.status_code == 201
        assert len(requests.get(f"{base}/sandbox/faults", timeout=5).json()) == 1
        bad = requests.post(f"{base}/sandbox/faults", json={"status": 200}, timeout=5)
        assert bad.status_code == 400
        assert requests.delete(f"{base}/sandbox/faults", timeout=5).status_code == 204
        assert requests.get(f"{base}/sandbox/faults", timeout=5).json() == []
    assert sandbox.requests.snapshot() == []  # control routes are not API calls
    sandbox.faults.add(service="level", method="GET", path="/v2/alerts", status=502)
    assert level(sandbox).get("/v2/alerts").status_code == 502
    assert ilert(sandbox).get("/api/teams").status_code == 200  # rules are per service


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"service": "pagerduty"}, "service must be one of ilert, level"),
        ({"status": 200}, "status must be an HTTP error status"),
        ({"count": 0}, "count must be an integer of at least 1"),
        ({"delay_seconds": -1}, "delay_seconds must be between 0 and 60"),
        ({"status": None}, "a rule needs a status, a delay_seconds, or both"),
        ({"path": "api"}, "path must be a path prefix starting with '/'"),
    ],
)
def test_invalid_rules_are_refused(
    sandbox: Sandbox, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        sandbox.faults.add(**kwargs)  # type: ignore[arg-type]
