"""The sandbox's control routes (``/sandbox/...``) take JSON only and answer only requests to
a loopback Host: a web page open in the user's browser can post ``text/plain`` or a form to
127.0.0.1 without asking, and a page whose name was rebound to 127.0.0.1 sends its own name
as Host. Neither may raise alerts, arm faults or change the world."""

from __future__ import annotations

import json

import pytest

from sandbox import LEVEL_API_KEY, Sandbox
from tests.sandbox.helpers import ilert, level

ALERT = {"device_hostname": "WS-042", "name": "CPU usage"}
FAULT = {"method": "GET", "path": "/api/alert-sources", "status": 503}


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
def test_a_post_that_is_not_json_is_refused_and_changes_nothing(
    sandbox: Sandbox, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    body = json.dumps(ALERT)

    raised = level(sandbox).post("/sandbox/alerts", data=body, headers=headers)
    armed = ilert(sandbox).post("/sandbox/faults", data=json.dumps(FAULT), headers=headers)

    assert (raised.status_code, armed.status_code) == (415, 415)
    assert "Content-Type: application/json" in raised.json()["error"]
    assert "Content-Type: application/json" in armed.json()["message"]
    assert sandbox.deliveries == [] and sandbox.faults.rules("ilert") == []


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:8791", "10.0.0.1",
                                  "127.0.0.1.attacker.example", ""])
def test_a_request_to_another_host_name_is_refused(sandbox: Sandbox, host: str) -> None:
    headers = {"Host": host}

    raised = level(sandbox).post("/sandbox/alerts", json=ALERT, headers=headers)
    listed = ilert(sandbox).get("/sandbox/faults", headers=headers)
    cleared = ilert(sandbox).delete("/sandbox/faults", headers=headers)

    assert {raised.status_code, listed.status_code, cleared.status_code} == {403}
    assert "loopback host" in raised.json()["error"]
    assert sandbox.deliveries == []


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.0.0.2:9", "[::1]:8791",
                                  "LOCALHOST:1"])
def test_json_to_a_loopback_host_works(sandbox: Sandbox, host: str) -> None:
    headers = {"Host": host, "Content-Type": "application/json; charset=utf-8"}

    raised = level(sandbox).post("/sandbox/alerts", data=json.dumps(ALERT), headers=headers)

    assert raised.status_code == 201, raised.text


def test_the_apis_themselves_are_not_affected(sandbox: Sandbox) -> None:
    """Only the control routes are guarded: the fake APIs answer as the real ones do."""
    listed = level(sandbox).get("/v2/groups", headers={"Host": "api.level.io"})

    assert listed.status_code == 200
    assert level(sandbox, key=LEVEL_API_KEY).post(
        "/v2/alerts/nope/resolve", headers={"Content-Type": "text/plain"}
    ).status_code == 404
