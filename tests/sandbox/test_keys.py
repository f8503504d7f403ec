"""The sandbox rotates keys like the real services: ``POST /sandbox/keys`` issues one,
``DELETE /sandbox/keys/<key>`` revokes one (a fixed key included), and from then on each API
answers a revoked key as it answers any unknown one (ilert 401 ``{status, message, code}``,
Level 401 ``{"error": "Access denied"}``); a read-only key gets 403 on every write."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox import (
    ILERT_READONLY_TOKEN,
    ILERT_TOKEN,
    LEVEL_API_KEY,
    LEVEL_READONLY_KEY,
    Sandbox,
)
from tests.sandbox.helpers import Client, ilert, level, source_body

HOOK = {"url": "https://example.invalid/hook"}


def issue(sb: Sandbox, service: str, key: str, *, read_only: bool = False) -> None:
    response = Client(sb.ilert_url, None).post(
        "/sandbox/keys", json={"service": service, "key": key, "read_only": read_only}
    )
    assert response.status_code == 201, response.text
    assert response.json() == {
        "service": service, "key": key, "read_only": read_only, "fixed": False, "revoked": False,
    }


def revoke(sb: Sandbox, key: str) -> int:
    # The Level port serves the same key ring as the ilert port.
    return Client(sb.level_url, None).delete(f"/sandbox/keys/{key}").status_code


def test_an_ilert_key_rotated_in_the_order_security_teams_do_it(sandbox: Sandbox) -> None:
    issue(sandbox, "ilert", "ilert-key-B")
    old, new = ilert(sandbox), ilert(sandbox, "ilert-key-B")
    assert new.post("/api/alert-sources", json=source_body()).status_code == 201

    assert revoke(sandbox, ILERT_TOKEN) == 204

    refused = old.get("/api/alert-sources")
    assert refused.status_code == 401
    assert refused.json() == {
        "status": 401,
        "message": "Missing or invalid API key: send Authorization: Bearer <key>",
        "code": "UNAUTHORIZED",
    }
    assert [s["name"] for s in new.get("/api/alert-sources").json()] == ["Level - Acme"]


def test_a_level_key_rotated_and_the_old_one_refused(sandbox: Sandbox) -> None:
    issue(sandbox, "level", "level-key-B")
    assert revoke(sandbox, LEVEL_API_KEY) == 204

    refused = level(sandbox).get("/v2/webhooks")
    assert (refused.status_code, refused.json()) == (401, {"error": "Access denied"})
    created = level(sandbox, "level-key-B").post(
        "/v2/webhooks", json=HOOK
    )
    assert created.status_code == 201, created.text


@pytest.mark.parametrize("service", ["ilert", "level"])
def test_a_read_only_key_reads_and_every_write_is_forbidden(
    sandbox: Sandbox, service: str
) -> None:
    issue(sandbox, service, f"{service}-reader", read_only=True)
    if service == "ilert":
        client, path, body = ilert(sandbox, "ilert-reader"), "/api/alert-sources", source_body()
        forbidden = {"status": 403, "code": "FORBIDDEN",
                     "message": "This API key's user may only view: writes are not allowed"}
    else:
        client, path = level(sandbox, "level-reader"), "/v2/webhooks"
        body = HOOK
        forbidden = {"error": "This API key is read-only; writes need a read & write key"}

    assert client.get(path).status_code == 200
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        answer = client.request(method, f"{path}/1" if method != "POST" else path, json=body)
        assert (answer.status_code, answer.json()) == (403, forbidden), method


def test_the_fixed_read_only_ilert_token_may_only_read(sandbox: Sandbox) -> None:
    reader = ilert(sandbox, ILERT_READONLY_TOKEN)
    assert reader.get("/api/escalation-policies").status_code == 200
    assert reader.post("/api/alert-sources", json=source_body()).status_code == 403
    assert level(sandbox, LEVEL_READONLY_KEY).get("/v2/webhooks").status_code == 200


def test_a_key_works_only_for_the_service_it_was_issued_for(sandbox: Sandbox) -> None:
    issue(sandbox, "ilert", "only-for-ilert")
    assert level(sandbox, "only-for-ilert").get("/v2/webhooks").status_code == 401
    assert ilert(sandbox, LEVEL_API_KEY).get("/api/alert-sources").status_code == 401


def test_a_known_key_is_never_issued_again_and_revoking_twice_is_404(sandbox: Sandbox) -> None:
    keys = Client(sandbox.ilert_url, None)
    issue(sandbox, "level", "level-key-B")
    assert revoke(sandbox, "level-key-B") == 204

    for key in ("level-key-B", LEVEL_API_KEY):
        again = keys.post("/sandbox/keys", json={"service": "level", "key": key})
        assert again.status_code == 409, key
        assert "a revoked key never works again" in again.json()["message"]
    assert revoke(sandbox, "level-key-B") == 404
    assert revoke(sandbox, "never-issued") == 404
    assert level(sandbox, "level-key-B").get("/v2/webhooks").status_code == 401


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"service": "pagerduty", "key": "k"}, "service: must be one of ilert, level"),
        ({"service": "ilert"}, "key: must be a non-empty string"),
        ({"service": "ilert", "key": "has space"}, "key: must be printable ASCII without spaces"),
        ({"service": "ilert", "key": "line\nbreak"}, "key: must be printable ASCII"),
        ({"service": "ilert", "key": "k" * 201}, "key: must be at most 200 characters"),
        ({"service": "ilert", "key": "k", "read_only": "no"}, "read_only: must be true or false"),
        ({"service": "ilert", "key": "k", "scope": "all"}, "unknown field(s): scope"),
        (["ilert", "k"], "body must be a JSON object"),
    ],
)
def test_a_bad_key_request_is_refused_naming_the_field(
    sandbox: Sandbox, body: object, said: str
) -> None:
    answer = Client(sandbox.level_url, None).post("/sandbox/keys", json=body)
    assert answer.status_code == 400
    assert said in answer.json()["error"]


def test_the_key_listing_shows_fixed_issued_and_revoked_keys(sandbox: Sandbox) -> None:
    issue(sandbox, "ilert", "ilert-key-B")
    revoke(sandbox, ILERT_TOKEN)

    listed = {k["key"]: k for k in Client(sandbox.ilert_url, None).get("/sandbox/keys").json()}

    assert listed[ILERT_TOKEN] == {
        "service": "ilert", "key": ILERT_TOKEN, "read_only": False, "fixed": True, "revoked": True,
    }
    assert listed["ilert-key-B"]["revoked"] is False
    assert listed[LEVEL_READONLY_KEY]["read_only"] is True
    assert list(listed) == [
        ILERT_TOKEN, ILERT_READONLY_TOKEN, LEVEL_API_KEY, LEVEL_READONLY_KEY, "ilert-key-B",
    ]


def test_issued_and_revoked_keys_survive_a_restart_beside_the_world_file(
    tmp_path: Path,
) -> None:
    state = tmp_path / "world.json"
    with Sandbox(state_file=state) as first:
        issue(first, "ilert", "ilert-key-B")
        assert revoke(first, ILERT_TOKEN) == 204

    assert (tmp_path / "world.keys.json").is_file()
    with Sandbox(state_file=state) as again:
        assert ilert(again).get("/api/alert-sources").status_code == 401
        assert ilert(again, "ilert-key-B").get("/api/alert-sources").status_code == 200
    with Sandbox() as fresh:  # no state file: the fixed keys only, none revoked
        assert ilert(fresh).get("/api/alert-sources").status_code == 200
