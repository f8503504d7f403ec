"""Fault modes for the fault matrix (issue 8 item 7): act or not, then answer, delay or drop.

Every test uses plain ``requests`` (or a raw socket) as a client would, and checks both
what the client saw and what the API did (the world), plus the request log entry.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest
import requests

from sandbox import ILERT_TOKEN, Sandbox
from sandbox.requestlog import DROPPED, RecordedRequest
from tests.sandbox.helpers import create_source, ilert, level, source_body

SOURCES = "/api/alert-sources"
HOOK_URL = "https://hooks.example.com/level"


def _post_source(sb: Sandbox, name: str, timeout: float = 5.0) -> requests.Response:
    return requests.post(
        f"{sb.ilert_url}{SOURCES}",
        json=source_body(name=name),
        headers={"Authorization": f"Bearer {ILERT_TOKEN}"},
        timeout=timeout,
    )


def _names(sb: Sandbox) -> list[str]:
    return [s["name"] for s in sb.ilert_alert_sources()]


# ----------------------------------------------------------------- connection drops


def test_reset_before_drops_the_connection_and_creates_nothing(sandbox: Sandbox) -> None:
    sandbox.faults.add("ilert", "POST", SOURCES, mode="reset_before")
    with pytest.raises(requests.ConnectionError, match="Connection reset by peer"):
        _post_source(sandbox, "dropped")
    assert _names(sandbox) == []
    assert sandbox.requests.snapshot() == [
        RecordedRequest("ilert", "POST", SOURCES, "", DROPPED, "reset_before")
    ]
    assert _post_source(sandbox, "second try").status_code == 201  # count=1: used up
    assert _names(sandbox) == ["second try"]


def test_reset_after_creates_the_source_then_drops_the_connection(sandbox: Sandbox) -> None:
    sandbox.faults.add("ilert", "POST", SOURCES, mode="reset_after")
    with pytest.raises(requests.ConnectionError, match="Connection reset by peer"):
        _post_source(sandbox, "acted")
    assert _names(sandbox) == ["acted"]  # the server acted although the client saw nothing
    assert sandbox.requests.snapshot() == [
        RecordedRequest("ilert", "POST", SOURCES, "", DROPPED, "reset_after")
    ]


def test_reset_after_on_level_creates_the_webhook(sandbox: Sandbox) -> None:
    sandbox.faults.add("level", "POST", "/v2/webhooks", mode="reset_after")
    with pytest.raises(requests.ConnectionError, match="Connection aborted"):
        level(sandbox).post("/v2/webhooks", json={"url": HOOK_URL})
    assert [w["url"] for w in sandbox.level_webhooks()] == [HOOK_URL]
    assert [(r.method, r.status, r.fault) for r in sandbox.requests] == [
        ("POST", DROPPED, "reset_after")
    ]


def test_reset_after_on_delete_really_deletes(sandbox: Sandbox) -> None:
    source = create_source(sandbox)
    sandbox.faults.add("ilert", "DELETE", SOURCES, mode="reset_after")
    with pytest.raises(requests.ConnectionError, match="Connection aborted"):
        ilert(sandbox).delete(f"{SOURCES}/{source['id']}")
    assert sandbox.ilert_alert_sources() == []


def test_the_drop_is_a_tcp_reset_on_the_wire(sandbox: Sandbox) -> None:
    """Below requests: the server sends no status line at all and resets the connection."""
    sandbox.faults.add("ilert", "GET", "/api/teams", mode="reset_before")
    port = int(sandbox.ilert_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(
            b"GET /api/teams HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: Bearer {ILERT_TOKEN}\r\n\r\n".encode()
        )
        # a FIN would return b"" and a response would return bytes: only a RST raises
        with pytest.raises(ConnectionResetError, match="reset"):
            raw.recv(4096)


def test_a_session_recovers_on_a_new_connection_after_a_drop(sandbox: Sandbox) -> None:
    sandbox.faults.add("ilert", "GET", SOURCES, mode="reset_before", count=2)
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {ILERT_TOKEN}"
        for _ in range(2):
            with pytest.raises(requests.ConnectionError, match="Connection aborted"):
                session.get(f"{sandbox.ilert_url}{SOURCES}", timeout=5)
        assert session.get(f"{sandbox.ilert_url}{SOURCES}", timeout=5).status_code == 200
    assert [r.status for r in sandbox.requests] == [DROPPED, DROPPED, 200]


def test_reset_before_with_a_delay_holds_then_drops(sandbox: Sandbox) -> None:
    sandbox.faults.add("level", "GET", "/v2/webhooks", mode="reset_before", delay_seconds=0.3)
    started = time.monotonic()
    with pytest.raises(requests.ConnectionError, match="Connection aborted"):
        level(sandbox).get("/v2/webhooks")
    assert time.monotonic() - started >= 0.3


# ------------------------------------------------------------- act, then answer


def test_after_with_status_creates_then_answers_the_error(sandbox: Sandbox) -> None:
    sandbox.faults.add("ilert", "POST", SOURCES, status=504, mode="after")
    response = _post_source(sandbox, "gateway lost the answer")
    assert response.status_code == 504
    assert response.json()["code"] == "GATEWAY_TIMEOUT"
    assert _names(sandbox) == ["gateway lost the answer"]
    assert [(r.status, r.fault) for r in sandbox.requests] == [(504, "after")]


def test_after_without_status_acts_then_answers_late(sandbox: Sandbox) -> None:
    """"Act, then respond slowly": the client times out, the object already exists and
    the request is already logged with the API's own status."""
    sandbox.faults.add("ilert", "POST", SOURCES, status=None, mode="after", delay_seconds=10)
    with pytest.raises(requests.ReadTimeout, match="timed out"):
        _post_source(sandbox, "slow answer", timeout=1.0)  # the stop() ends the delay
    assert _names(sandbox) == ["slow answer"]
    assert [(r.status, r.fault) for r in sandbox.requests] == [(201, "after")]


def test_after_without_status_delivers_the_real_answer_to_a_patient_client(
    sandbox: Sandbox,
) -> None:
    sandbox.faults.add(
        "level", "POST", "/v2/webhooks", status=None, mode="after", delay_seconds=0.2
    )
    response = level(sandbox).post("/v2/webhooks", json={"url": HOOK_URL})
    assert response.status_code == 201
    assert response.json()["url"] == HOOK_URL
    assert response.json()["id"] == sandbox.level_webhooks()[0]["id"]


def test_slow_before_times_the_client_out_and_then_still_acts(sandbox: Sandbox) -> None:
    """"Slow" (mode before, no status): nothing has happened when the client gives up;
    the request then reaches the API and is logged once the delay ends."""
    sandbox.faults.add("ilert", "POST", SOURCES, status=None, delay_seconds=1.0)
    with pytest.raises(requests.ReadTimeout, match="timed out"):
        _post_source(sandbox, "late", timeout=0.3)
    assert _names(sandbox) == []
    sandbox.wait_idle(timeout=5)
    assert _names(sandbox) == ["late"]
    assert [(r.status, r.fault) for r in sandbox.requests] == [(201, "before")]


# ------------------------------------------------------------------- error answers


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
@pytest.mark.parametrize("service", ["ilert", "level"])
def test_error_status_before_acting_in_each_services_format(
    sandbox: Sandbox, service: str, status: int
) -> None:
    if service == "ilert":
        sandbox.faults.add("ilert", "POST", SOURCES, status=status)
        response = _post_source(sandbox, "never")
        assert set(response.json()) == {"status", "message", "code"}
        assert sandbox.ilert_alert_sources() == []
    else:
        sandbox.faults.add("level", "POST", "/v2/webhooks", status=status)
        response = level(sandbox).post("/v2/webhooks", json={"url": HOOK_URL})
        assert set(response.json()) == {"error"}
        assert sandbox.level_webhooks() == []
    assert response.status_code == status
    assert "Retry-After" not in response.headers
    assert [(r.status, r.fault) for r in sandbox.requests] == [(status, "before")]


def test_retry_after_on_an_after_rule(sandbox: Sandbox) -> None:
    sandbox.faults.add("ilert", "PUT", SOURCES, status=429, retry_after=3, mode="after")
    source = create_source(sandbox, name="old")
    response = ilert(sandbox).put(f"{SOURCES}/{source['id']}", json=source_body(name="new"))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert _names(sandbox) == ["new"]  # the update was applied before the 429


# ------------------------------------------------------------- HTTP control routes


def test_modes_over_the_control_route(sandbox: Sandbox) -> None:
    created = requests.post(
        f"{sandbox.ilert_url}/sandbox/faults",
        json={"method": "POST", "path": SOURCES, "mode": "reset_after", "count": 1},
        timeout=5,
    )
    assert created.status_code == 201
    assert created.json()["mode"] == "reset_after"
    assert created.json()["status"] is None
    listed = requests.get(f"{sandbox.ilert_url}/sandbox/faults", timeout=5).json()
    assert [(rule["mode"], rule["remaining"]) for rule in listed] == [("reset_after", 1)]
    with pytest.raises(requests.ConnectionError, match="Connection aborted"):
        _post_source(sandbox, "via curl")
    assert _names(sandbox) == ["via curl"]
    delayed = requests.post(
        f"{sandbox.level_url}/sandbox/faults",
        json={"method": "GET", "status": None, "mode": "after", "delay_seconds": 0.1},
        timeout=5,
    )
    assert delayed.status_code == 201
    assert level(sandbox).get("/v2/webhooks").status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"mode": "explode"}, "mode must be one of before, after, reset_before, reset_after"),
        ({"mode": "reset_before", "status": 502}, "status: mode 'reset_before' drops"),
        ({"mode": "reset_after", "retry_after": 1}, "retry_after needs a status"),
        ({"status": None, "retry_after": 1, "delay_seconds": 1}, "retry_after needs a status"),
        ({"status": 503, "retry_after": -1}, "retry_after must be an integer of at least 0"),
        ({"count": 0}, "count must be an integer of at least 1"),
        ({"status": 200}, "status must be an HTTP error status"),
    ],
)
def test_bad_rules_are_refused_with_the_field_named(
    sandbox: Sandbox, body: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        sandbox.faults.add("ilert", **body)
    over_http = requests.post(f"{sandbox.ilert_url}/sandbox/faults", json=body, timeout=5)
    assert over_http.status_code == 400
    assert message in over_http.json()["message"]
    assert sandbox.faults.rules() == []


def test_wait_idle_times_out_while_a_request_is_held(sandbox: Sandbox) -> None:
    sandbox.faults.add("ilert", "GET", "/api/teams", status=None, delay_seconds=1.0)
    with pytest.raises(requests.ReadTimeout, match="timed out"):
        requests.get(
            f"{sandbox.ilert_url}/api/teams",
            headers={"Authorization": f"Bearer {ILERT_TOKEN}"},
            timeout=0.2,
        )
    with pytest.raises(TimeoutError, match="1 sandbox request"):
        sandbox.wait_idle(timeout=0.05)
    sandbox.wait_idle(timeout=5)
    assert [(r.status, r.fault) for r in sandbox.requests] == [(200, "before")]
