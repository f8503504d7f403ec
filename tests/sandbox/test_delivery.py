"""Level → webhook delivery: envelope, signature, retries, filters and the loopback-only rule."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid

from sandbox import Sandbox
from sandbox.delivery import LOOPBACK_ONLY, is_loopback_url
from tests.sandbox.helpers import create_webhook, level, receiver


def test_signed_delivery_envelope_and_header(sandbox: Sandbox) -> None:
    with receiver() as hook:
        webhook = create_webhook(sandbox, hook.url, secret="s3cret", event_types=["alert_active"])
        alert = sandbox.raise_level_alert(device_hostname="WS-042", name="CPU usage")
        [received] = hook.received
    assert received.headers["Content-Type"] == "application/json"
    expected = hmac.new(b"s3cret", received.body, hashlib.sha256).hexdigest()
    assert received.headers["X-Level-Signature"] == f"sha256={expected}"
    envelope = json.loads(received.body)
    assert set(envelope) == {"event_type", "event_id", "occurred_at", "data"}
    assert envelope["event_type"] == "alert_active"
    assert uuid.UUID(envelope["event_id"]).version == 4
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", envelope["occurred_at"])
    assert envelope["data"] == alert
    [delivery] = sandbox.deliveries
    assert delivery["webhook_id"] == webhook["id"]
    assert delivery["event_id"] == envelope["event_id"]
    assert delivery["attempts"] == [{"status": 200}]
    assert delivery["succeeded"] is True


def test_no_signature_header_without_a_secret(sandbox: Sandbox) -> None:
    with receiver() as hook:
        create_webhook(sandbox, hook.url)
        sandbox.raise_level_alert()
        [received] = hook.received
    assert "X-Level-Signature" not in received.headers


def test_three_attempts_on_500_with_the_same_event_id(sandbox: Sandbox) -> None:
    with receiver(statuses=[500]) as hook:
        create_webhook(sandbox, hook.url)
        sandbox.raise_level_alert()
        received = list(hook.received)
    assert len(received) == 3
    assert len({json.loads(r.body)["event_id"] for r in received}) == 1
    assert len({r.body for r in received}) == 1
    [delivery] = sandbox.deliveries
    assert delivery["attempts"] == [{"status": 500}] * 3
    assert delivery["succeeded"] is False


def test_retry_stops_at_the_first_2xx(sandbox: Sandbox) -> None:
    with receiver(statuses=[503, 204]) as hook:
        create_webhook(sandbox, hook.url)
        sandbox.raise_level_alert()
        assert len(hook.received) == 2
    assert sandbox.deliveries[0]["attempts"] == [{"status": 503}, {"status": 204}]
    assert sandbox.deliveries[0]["succeeded"] is True


def test_unreachable_receiver_is_recorded_as_errors(sandbox: Sandbox) -> None:
    with receiver() as hook:
        url = hook.url
    create_webhook(sandbox, url)  # its server is gone: connection refused
    sandbox.raise_level_alert()
    [delivery] = sandbox.deliveries
    assert len(delivery["attempts"]) == 3
    assert all("error" in attempt for attempt in delivery["attempts"])


def test_disabled_or_unsubscribed_webhooks_get_nothing(sandbox: Sandbox) -> None:
    with receiver() as disabled, receiver() as resolved_only, receiver() as everything:
        create_webhook(sandbox, disabled.url, enabled=False)
        create_webhook(sandbox, resolved_only.url, event_types=["alert_resolved"])
        create_webhook(sandbox, everything.url, event_types=None)
        alert = sandbox.raise_level_alert()
        assert disabled.received == []
        assert resolved_only.received == []
        assert len(everything.received) == 1
        sandbox.resolve_level_alert(alert["id"])
        sandbox.resolve_level_alert(alert["id"])  # already resolved: no second delivery
        assert disabled.received == []
        assert [json.loads(r.body)["event_type"] for r in resolved_only.received] == [
            "alert_resolved"
        ]
        assert len(everything.received) == 2


def test_non_loopback_url_is_never_contacted(sandbox: Sandbox) -> None:
    webhook = create_webhook(sandbox, "https://hooks.example.com/level")
    with receiver() as hook:
        create_webhook(sandbox, hook.url)
        sandbox.raise_level_alert()
        assert len(hook.received) == 1
    remote = [d for d in sandbox.deliveries if d["webhook_id"] == webhook["id"]]
    assert remote == [{**remote[0], "attempts": [{"error": LOOPBACK_ONLY}], "succeeded": False}]
    # the delivery log is also served to curl users
    log = level(sandbox).get("/sandbox/deliveries").json()
    assert [d["succeeded"] for d in log] == [False, True]


def test_loopback_rule() -> None:
    for url in (
        "http://127.0.0.1:1/x",
        "http://127.9.9.9/x",
        "http://localhost/x",
        "http://[::1]/x",
    ):
        assert is_loopback_url(url), url
    for url in (
        "https://example.com/x",
        "http://10.0.0.1/x",
        "http://127.0.0.1.nip.io/x",
        "nonsense",
    ):
        assert not is_loopback_url(url), url


def test_delivery_retry_delay_spaces_the_attempts() -> None:
    with Sandbox(delivery_retry_delay=0.2) as sb, receiver(statuses=[500]) as hook:
        create_webhook(sb, hook.url)
        started = time.monotonic()
        sb.raise_level_alert()
        elapsed = time.monotonic() - started
    assert len(hook.received) == 3
    assert 0.4 <= elapsed < 3.0
