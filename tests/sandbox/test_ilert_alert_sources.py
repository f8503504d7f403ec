"""The fake ilert's alert sources, escalation policies and teams, over loopback HTTP."""

from __future__ import annotations

import pytest

from sandbox import Sandbox
from tests.ilert_openapi import check_response
from tests.sandbox.helpers import create_source, ilert, source_body


def test_create_returns_201_location_and_server_fields(sandbox: Sandbox) -> None:
    response = ilert(sandbox).post(
        "/api/alert-sources",
        json=source_body(teams=[{"id": 2}, {"id": 1}], setupStatus="FINISHED"),
    )
    assert response.status_code == 201
    body = response.json()
    assert response.headers["Location"] == f"{sandbox.ilert_url}/api/alert-sources/{body['id']}"
    assert isinstance(body["id"], int)
    assert body["integrationKey"].startswith("il1lev")
    assert len(body["integrationKey"]) == len("il1lev") + 20
    assert body["integrationUrl"] == (
        f"{sandbox.ilert_url}/api/v1/events/levelio/{body['integrationKey']}"
    )
    assert body["active"] is True
    assert body["alertCreation"] == "ONE_ALERT_PER_EMAIL"
    assert body["alertPriorityRule"] == "HIGH"
    assert body["setupStatus"] == "FINISHED"
    assert body["status"] == "ALL_RESOLVED"
    assert body["teams"] == [{"id": 1, "name": "Platform"}, {"id": 2, "name": "Service Desk"}]
    assert body["escalationPolicy"]["name"] == "Default"
    assert body["escalationPolicy"]["escalationRules"]
    for key in ("iconUrl", "lightIconUrl", "darkIconUrl", "createdAt", "updatedAt"):
        assert body[key]


def test_defaults_setup_status_created(sandbox: Sandbox) -> None:
    assert create_source(sandbox)["setupStatus"] == "CREATED"


def test_every_alert_source_response_validates_against_the_oas(sandbox: Sandbox) -> None:
    client = ilert(sandbox)
    created = create_source(
        sandbox,
        teams=[{"id": 1}],
        alertCreation="INTELLIGENT_GROUPING",
        alertGroupingWindow="PT5M",
        autoResolutionTimeout="PT90M",
        scoreThreshold=0.5,
        summaryTemplate={"textTemplate": "{{ name }}"},
    )
    bodies = {
        "POST": created,
        "GET": client.get(f"/api/alert-sources/{created['id']}").json(),
        "GET include": client.get(
            f"/api/alert-sources/{created['id']}", params={"include": "summaryTemplate"}
        ).json(),
        "by name": client.get(f"/api/alert-sources/name/{created['name']}").json(),
        "PUT": client.put(
            f"/api/alert-sources/{created['id']}", json=source_body(name="renamed", active=False)
        ).json(),
    }
    for label, body in bodies.items():
        check_response("AlertSource", body, label)
    items = client.get("/api/alert-sources").json()
    assert items
    for item in items:
        check_response("AlertSourceNoIncludes", item)


def test_get_by_id_or_integration_key_and_by_name(sandbox: Sandbox) -> None:
    client = ilert(sandbox)
    created = create_source(sandbox, name="Level / Acme & Co")
    by_id = client.get(f"/api/alert-sources/{created['id']}").json()
    by_key = client.get(f"/api/alert-sources/{created['integrationKey']}").json()
    by_name = client.get("/api/alert-sources/name/Level%20%2F%20Acme%20%26%20Co").json()
    assert by_id == by_key == by_name == created
    assert client.get("/api/alert-sources/name/Level").status_code == 404
    missing = client.get("/api/alert-sources/999999")
    assert missing.status_code == 404
    assert missing.json() == {
        "status": 404,
        "message": "alert source 999999 not found",
        "code": "NOT_FOUND",
    }


def test_list_pages_with_start_index_and_max_results(sandbox: Sandbox) -> None:
    client = ilert(sandbox)
    ids = [create_source(sandbox, name=f"source {i}")["id"] for i in range(7)]
    seen: list[int] = []
    for start in range(0, 10, 3):  # bounded: 4 pages at most
        page = client.get(
            "/api/alert-sources", params={"start-index": start, "max-results": 3}
        ).json()
        assert isinstance(page, list)
        seen.extend(item["id"] for item in page)
        if len(page) < 3:
            break
    assert seen == ids
    listed = client.get("/api/alert-sources").json()
    assert len(listed) == 7
    assert "setupStatus" not in listed[0]


def test_list_limits(sandbox: Sandbox) -> None:
    client = ilert(sandbox)
    for params in (
        {"max-results": 51},
        {"max-results": 0},
        {"start-index": -1},
        {"max-results": "x"},
    ):
        response = client.get("/api/alert-sources", params=params)
        assert response.status_code == 400, params
        assert response.json()["code"] == "BAD_REQUEST"
    assert client.get("/api/alert-sources", params={"max-results": 50}).status_code == 200


def test_delete_then_404(sandbox: Sandbox) -> None:
    client = ilert(sandbox)
    created = create_source(sandbox)
    deleted = client.delete(f"/api/alert-sources/{created['id']}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert client.get(f"/api/alert-sources/{created['id']}").status_code == 404
    assert client.delete(f"/api/alert-sources/{created['id']}").status_code == 404


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"name": None}, "name"),
        ({"integrationType": "NOPE"}, "integrationType"),
        ({"integrationType": None}, "integrationType"),
        ({"escalationPolicy": {"id": 99}}, "escalationPolicy.id"),
        ({"escalationPolicy": None}, "escalationPolicy"),
        ({"escalationPolicy": {"id": "1"}}, "escalationPolicy"),
        ({"alertCreation": "SOMETIMES"}, "alertCreation"),
        ({"alertCreation": "ONE_ALERT_GROUPED_PER_WINDOW"}, "alertGroupingWindow"),
        (
            {"alertCreation": "INTELLIGENT_GROUPING", "alertGroupingWindow": "PT3M"},
            "alertGroupingWindow",
        ),
        ({"alertGroupingWindow": "PT5M"}, "alertGroupingWindow"),
        ({"autoResolutionTimeout": "PT15M"}, "autoResolutionTimeout"),
        ({"autoResolutionTimeout": "PT7H"}, "autoResolutionTimeout"),
        ({"alertPriorityRule": "MEDIUM"}, "alertPriorityRule"),
        ({"teams": [{"id": 42}]}, "teams[0].id"),
        ({"teams": "Platform"}, "teams"),
        ({"setupStatus": "DONE"}, "setupStatus"),
        ({"active": "yes"}, "active"),
        ({"severity": 9}, "severity"),
    ],
)
def test_validation_400_names_the_field(
    sandbox: Sandbox, overrides: dict[str, object], field: str
) -> None:
    body = source_body()
    body.update(overrides)
    response = ilert(sandbox).post("/api/alert-sources", json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["status"] == 400
    assert error["code"] == "BAD_REQUEST"
    assert error["message"].startswith(f"{field}:"), error["message"]


def test_valid_enumerations_are_accepted(sandbox: Sandbox) -> None:
    for window in ("PT2M", "PT1H", "PT24H"):
        create_source(
            sandbox, alertCreation="ONE_ALERT_GROUPED_PER_WINDOW", alertGroupingWindow=window
        )
    for timeout in ("PT10M", "PT60M", "PT90M", "PT2H", "PT6H", "PT12H", "PT24H"):
        assert (
            create_source(sandbox, autoResolutionTimeout=timeout)["autoResolutionTimeout"]
            == timeout
        )
    assert create_source(sandbox, integrationType="API")["integrationKey"].startswith("il1api")


def test_malformed_body_is_400(sandbox: Sandbox) -> None:
    client = ilert(sandbox)
    for data in (b"", b"{not json", b"[1, 2]"):
        response = client.post(
            "/api/alert-sources", data=data, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert set(response.json()) == {"status", "message", "code"}


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "sandbox-ilert-token"])
def test_auth_401(sandbox: Sandbox, authorization: str | None) -> None:
    client = ilert(sandbox, token=None)
    headers = {"Authorization": authorization} if authorization else {}
    for method, path in (
        ("GET", "/api/alert-sources"),
        ("POST", "/api/alert-sources"),
        ("GET", "/api/escalation-policies"),
        ("GET", "/api/alerts"),
        ("GET", "/api/nothing-here"),
    ):
        response = client.request(method, path, headers=headers, json={})
        assert response.status_code == 401, (method, path)
        assert response.json()["code"] == "UNAUTHORIZED"
        assert response.json()["status"] == 401


def test_unauthenticated_intake_routes_need_no_token(sandbox: Sandbox) -> None:
    client = ilert(sandbox, token=None)
    assert client.get("/api/integrations").status_code == 200
    assert client.post("/api/events", json={}).status_code == 400  # validation, not 401
    assert client.post("/api/v1/events/levelio/unknown", json={}).status_code == 404


def test_put_teams_omitted_or_null_unchanged_empty_clears(sandbox: Sandbox) -> None:
    client = ilert(sandbox)
    created = create_source(sandbox, teams=[{"id": 1}, {"id": 2}])
    path = f"/api/alert-sources/{created['id']}"
    both = [{"id": 1, "name": "Platform"}, {"id": 2, "name": "Service Desk"}]
    assert client.put(path, json=source_body(name="a")).json()["teams"] == both
    assert (
        client.put(path, json=source_body(name="b", teams=None) | {"teams": None}).json()["teams"]
        == both
    )
    assert client.put(path, json=source_body(teams=[{"id": 2}])).json()["teams"] == [both[1]]
    assert client.put(path, json=source_body(teams=[])).json()["teams"] == []
    assert client.get(path).json()["teams"] == []


def test_put_replaces_fields_and_ignores_read_only_ones(sandbox: Sandbox) -> None:
    client = ilert(sandbox)
    created = create_source(sandbox, autoResolutionTimeout="PT30M", setupStatus="FINISHED")
    path = f"/api/alert-sources/{created['id']}"
    body = dict(created)
    body.update(
        name="renamed",
        escalationPolicy={"id": 2},
        active=False,
        integrationUrl="https://evil.example/x",
        status="PENDING",
        integrationKey="il1levforged",
        id=1,
    )
    body.pop("autoResolutionTimeout")
    updated = client.put(path, json=body).json()
    assert updated["name"] == "renamed"
    assert updated["escalationPolicy"]["name"] == "On-call L1"
    assert updated["active"] is False
    assert updated["status"] == "DISABLED"
    assert updated["integrationUrl"] == created["integrationUrl"]
    assert updated["integrationKey"] == created["integrationKey"]
    assert updated["id"] == created["id"]
    assert "autoResolutionTimeout" not in updated  # PUT replaces: omitted = default
    assert updated["setupStatus"] == "FINISHED"  # ...except setupStatus, which is kept
    assert updated["createdAt"] == created["createdAt"]


def test_put_cannot_change_integration_type(sandbox: Sandbox) -> None:
    created = create_source(sandbox)
    response = ilert(sandbox).put(
        f"/api/alert-sources/{created['id']}", json=source_body(integrationType="API")
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("integrationType: cannot be changed")


def test_put_unknown_id_is_404(sandbox: Sandbox) -> None:
    assert ilert(sandbox).put("/api/alert-sources/424242", json=source_body()).status_code == 404


def test_include_only_fields_appear_only_when_included(sandbox: Sandbox) -> None:
    client = ilert(sandbox)
    created = create_source(sandbox, eventFilter="(alert.summary contains 'x')")
    assert "eventFilter" not in created
    path = f"/api/alert-sources/{created['id']}"
    assert "eventFilter" not in client.get(path).json()
    included = client.get(path, params={"include": ["eventFilter", "summaryTemplate"]}).json()
    assert included["eventFilter"] == "(alert.summary contains 'x')"
    assert (
        "eventFilter"
        not in client.get("/api/alert-sources", params={"include": "eventFilter"}).json()[0]
    )


def test_escalation_policies_seeded_paged_and_by_name(sandbox: Sandbox) -> None:
    client = ilert(sandbox)
    policies = client.get("/api/escalation-policies").json()
    assert [(p["id"], p["name"]) for p in policies] == [(1, "Default"), (2, "On-call L1")]
    for policy in policies:
        check_response("EscalationPolicy", policy)
    assert client.get("/api/escalation-policies/2").json()["name"] == "On-call L1"
    assert client.get("/api/escalation-policies/name/On-call%20L1").json()["id"] == 2
    assert client.get("/api/escalation-policies/name/Nobody").status_code == 404
    assert client.get("/api/escalation-policies/77").status_code == 404
    for i in range(60):
        sandbox.ilert_add_escalation_policy(f"policy {i}")
    first = client.get("/api/escalation-policies").json()
    assert len(first) == 50
    second = client.get("/api/escalation-policies", params={"start-index": 50}).json()
    assert len(second) == 12
    assert client.get("/api/escalation-policies", params={"max-results": 51}).status_code == 400


def test_teams_are_seeded(sandbox: Sandbox) -> None:
    client = ilert(sandbox)
    assert client.get("/api/teams").json() == [
        {"id": 1, "name": "Platform"},
        {"id": 2, "name": "Service Desk"},
    ]
    team = sandbox.ilert_add_team("Night shift")
    assert client.get(f"/api/teams/{team['id']}").json() == team
    created = create_source(sandbox, teams=[{"id": team["id"]}])
    assert created["teams"] == [team]
