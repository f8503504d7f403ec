"""The ilert client against `responses`: paths, auth, paging, bodies ilert's spec accepts.

The client sends the body it is given; the body itself is built by the alert source's schema
(providers/ilert_alert_source.py). The referee (ilert's OpenAPI document) checks the bodies
that schema builds from a resource's inputs: what the provider really sends.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses
from responses import matchers

from clients.http import BadRequestError, NotFoundError, RetryPolicy, UnauthorizedError
from clients.ilert import AUTO_RESOLUTION_TIMEOUTS, GROUPED_ALERT_CREATION_MODES, IlertClient
from providers.ilert_alert_source import SCHEMA
from tests.ilert_openapi import available, check_request, request_errors

BASE = "https://api.ilert.test"
TOKEN = "il-token-very-secret"


def source_json(source_id: int = 7, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": source_id,
        "name": f"Level {source_id}",
        "integrationType": "LEVELIO",
        "escalationPolicy": {"id": 1, "name": "Default", "escalationRules": []},
        "integrationKey": f"il1lev{source_id:020x}",
        "integrationUrl": f"{BASE}/api/v1/events/levelio/il1lev{source_id:020x}",
        "alertCreation": "ONE_ALERT_PER_EMAIL",
        "alertPriorityRule": "HIGH",
        "active": True,
        "status": "ALL_RESOLVED",
        "teams": [{"id": 2, "name": "Service Desk"}],
        "iconUrl": "https://example.test/icon.png",
        "someFieldIlertAddsNextYear": {"x": 1},
    }
    body.update(overrides)
    return body


@pytest.fixture
def ilert() -> IlertClient:
    return IlertClient(BASE + "/", TOKEN, retry=RetryPolicy(attempts=2, backoff_factor=0))


POLICIES = {"Default": 1, "On-call L1": 2}


class PolicyNames:
    """The provider's look-ups (``Refs``) over a fixed list of policies, without network."""

    def resolve(self, kind: str, ref: Any, setting: str) -> Any:
        assert kind == "escalation policy" or isinstance(ref, int)
        return ref if isinstance(ref, int) else POLICIES[ref]

    def name_of(self, kind: str, object_id: int | str) -> str | None:
        return next((name for name, id_ in POLICIES.items() if str(id_) == str(object_id)), None)


def body(**inputs: Any) -> dict[str, Any]:
    """The body the provider sends on an update (and an adoption) for these inputs."""
    return SCHEMA.body(SCHEMA.parse(inputs), PolicyNames())


def create_body(**inputs: Any) -> dict[str, Any]:
    """The body the provider POSTs for these inputs: a finished setup (as ilert's Terraform
    provider sends), else ilert shows the source as still being set up."""
    return {**body(**inputs), "setupStatus": "FINISHED"}


FULL = {
    "name": "Level: Acme Zürich",
    "escalation_policy": "Default",
    "alert_creation": "ONE_ALERT_GROUPED_PER_WINDOW",
    "alert_grouping_window": "PT5M",
    "alert_priority_rule": "LOW",
    "auto_resolution_timeout": "PT2H",
    "active": False,
    "teams": [2, 1, 2],
}


def full_request() -> dict[str, Any]:
    return create_body(**FULL)


@responses.activate
def test_create_posts_the_spec_shaped_body_with_bearer_token(ilert: IlertClient) -> None:
    responses.post(f"{BASE}/api/alert-sources", status=201, json=source_json())

    created = ilert.create_alert_source(full_request())

    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    body = json.loads(sent.body or b"")
    assert body == {
        "name": "Level: Acme Zürich",
        "integrationType": "LEVELIO",
        "escalationPolicy": {"id": 1},
        "alertCreation": "ONE_ALERT_GROUPED_PER_WINDOW",
        "alertGroupingWindow": "PT5M",
        "alertPriorityRule": "LOW",
        "autoResolutionTimeout": "PT2H",
        "active": False,
        "teams": [{"id": 1}, {"id": 2}],
        "setupStatus": "FINISHED",
    }
    assert created.id == 7
    assert created.integration_url == f"{BASE}/api/v1/events/levelio/il1lev{7:020x}"
    assert created.teams[0].id == 2
    assert created.model_extra is not None
    assert created.model_extra["someFieldIlertAddsNextYear"] == {"x": 1}


@pytest.mark.parametrize(
    "sent",
    [
        full_request(),
        body(**FULL),
        create_body(name="minimal", escalation_policy=2),
        body(name="teams cleared", escalation_policy="On-call L1", teams=[]),
        *(
            create_body(name="t", escalation_policy=1, auto_resolution_timeout=timeout)
            for timeout in AUTO_RESOLUTION_TIMEOUTS[:3]
        ),
    ],
    ids=["full", "full update", "minimal", "teams cleared", *AUTO_RESOLUTION_TIMEOUTS[:3]],
)
def test_every_body_we_send_validates_against_ilerts_published_schema(
    sent: dict[str, Any],
) -> None:
    assert request_errors("AlertSourceRel", sent) == []


def every_choice() -> list[tuple[str, str]]:
    """(field, choice) for every value a field of the schema offers."""
    return [(key, choice) for key, each in SCHEMA.fields.items() for choice in each.spec.choices]


@pytest.mark.parametrize(("key", "choice"), every_choice())
def test_every_choice_the_schema_offers_is_one_ilerts_schema_accepts(
    key: str, choice: str
) -> None:
    inputs: dict[str, Any] = {"name": "t", "escalation_policy": 1, key: choice}
    if key == "alert_grouping_window":
        inputs["alert_creation"] = "ONE_ALERT_GROUPED_PER_WINDOW"
    if key == "alert_creation" and choice in GROUPED_ALERT_CREATION_MODES:
        inputs["alert_grouping_window"] = "PT5M"
    if choice.endswith("_DURING_SUPPORT_HOURS"):  # such a rule needs its support hours
        inputs["support_hours"] = 1

    sent = create_body(**inputs)

    assert sent[str(SCHEMA.fields[key].api)] == choice
    assert request_errors("AlertSourceRel", sent) == []


def test_active_false_is_always_sent_and_undeclared_teams_are_left_out() -> None:
    sent = body(name="x", escalation_policy=1, active=False)

    assert sent["active"] is False
    assert "teams" not in sent
    assert sent["alertCreation"] == "ONE_ALERT_PER_EMAIL"
    assert sent["alertPriorityRule"] == "HIGH"


def test_a_policy_named_is_sent_as_its_id_and_only_api_fields_are_sent() -> None:
    sent = body(name="x", escalation_policy="On-call L1", adopt=True)

    assert sent == {
        "name": "x",
        "escalationPolicy": {"id": 2},
        "integrationType": "LEVELIO",
        "alertCreation": "ONE_ALERT_PER_EMAIL",
        "alertPriorityRule": "HIGH",
        "active": True,
    }


def test_the_schema_check_is_not_vacuous() -> None:
    sent = full_request()
    sent["integrationType"] = "LEVEL"
    sent["integrationUrl"] = "read-only"

    errors = request_errors("AlertSourceRel", sent)

    assert any("integrationType" in e for e in errors)
    assert any("integrationUrl" in e for e in errors)


@pytest.mark.skipif(not available(), reason="ilert OpenAPI spec absent: nothing to referee with")
def test_the_referee_check_the_other_tests_call_fails_a_bad_body() -> None:
    sent = full_request()
    sent["alertCreation"] = "ONE_ALERT_PER_FULL_MOON"

    with pytest.raises(
        AssertionError, match=r"not a valid AlertSourceRel request body: .*alertCreation"
    ):
        check_request("AlertSourceRel", sent)


@responses.activate
def test_get_update_delete_use_the_documented_paths(ilert: IlertClient) -> None:
    no_include = [matchers.query_param_matcher({})]
    responses.get(f"{BASE}/api/alert-sources/7", json=source_json(), match=no_include)
    responses.put(
        f"{BASE}/api/alert-sources/7",
        json=source_json(name="renamed"),
        match=[matchers.json_params_matcher({"name": "renamed"}, strict_match=False)],
    )
    responses.delete(f"{BASE}/api/alert-sources/7", status=204)

    assert ilert.get_alert_source(7).name == "Level 7"
    updated = ilert.update_alert_source(7, body(name="renamed", escalation_policy=1))
    assert updated.name == "renamed"
    ilert.delete_alert_source(7)

    assert [c.request.method for c in responses.calls] == ["GET", "PUT", "DELETE"]


@responses.activate
def test_missing_source_is_not_found(ilert: IlertClient) -> None:
    responses.get(
        f"{BASE}/api/alert-sources/9",
        status=404,
        json={"status": 404, "message": "Alert source not found", "code": "NOT_FOUND"},
    )

    with pytest.raises(NotFoundError, match="Alert source not found"):
        ilert.get_alert_source(9)


@responses.activate
def test_list_pages_with_start_index_until_a_short_page(ilert: IlertClient) -> None:
    for start, count in ((0, 50), (50, 50), (100, 3)):
        responses.get(
            f"{BASE}/api/alert-sources",
            json=[source_json(start + i) for i in range(count)],
            match=[matchers.query_param_matcher({"start-index": str(start), "max-results": "50"})],
        )

    sources = list(ilert.list_alert_sources())

    assert [s.id for s in sources] == list(range(103))
    assert len(responses.calls) == 3


@responses.activate
def test_find_by_exact_name_stops_at_the_first_page_that_has_it(ilert: IlertClient) -> None:
    responses.get(
        f"{BASE}/api/alert-sources",
        json=[source_json(i, name=f"s{i}") for i in range(50)],
        match=[matchers.query_param_matcher({"start-index": "0", "max-results": "50"})],
    )

    found = ilert.find_alert_source_by_name("s42")
    assert found is not None
    assert found.id == 42
    assert len(responses.calls) == 1


@responses.activate
def test_find_by_name_is_exact_and_returns_none_when_absent(ilert: IlertClient) -> None:
    responses.get(f"{BASE}/api/alert-sources", json=[source_json(1, name="Level")])

    assert ilert.find_alert_source_by_name("level") is None
    assert ilert.find_alert_source_by_name("Level ") is None


@responses.activate
def test_escalation_policies_list_get_and_find(ilert: IlertClient) -> None:
    policies = [{"id": i, "name": f"P{i}", "escalationRules": []} for i in range(1, 4)]
    responses.get(f"{BASE}/api/escalation-policies", json=policies)
    responses.get(f"{BASE}/api/escalation-policies/2", json=policies[1])

    assert [p.name for p in ilert.list_escalation_policies()] == ["P1", "P2", "P3"]
    assert ilert.get_escalation_policy(2).name == "P2"
    found = ilert.find_escalation_policy_by_name("P3")
    assert found is not None
    assert found.id == 3
    assert ilert.find_escalation_policy_by_name("nope") is None


@responses.activate
def test_alerts_filter_by_source_and_state(ilert: IlertClient) -> None:
    responses.get(
        f"{BASE}/api/alerts",
        json=[{"id": 5, "status": "PENDING", "alertKey": "k", "alertSource": {"id": 7}}],
        match=[
            matchers.query_param_matcher(
                {"sources": "7", "states": ["PENDING", "ACCEPTED"],
                 "start-index": "0", "max-results": "100"}
            )
        ],
    )

    alerts = ilert.list_alerts(source_id=7, states=("PENDING", "ACCEPTED"))

    assert [(a.id, a.alert_key, a.status) for a in alerts] == [(5, "k", "PENDING")]


@responses.activate
def test_bad_request_and_unauthorized_carry_ilerts_message_not_the_token(
    ilert: IlertClient,
) -> None:
    responses.post(
        f"{BASE}/api/alert-sources",
        status=400,
        json={"status": 400, "message": "Escalation policy 99 does not exist", "code": "BAD"},
    )
    responses.get(
        f"{BASE}/api/alert-sources/1", status=401, json={"status": 401, "message": "Unauthorized"}
    )

    with pytest.raises(BadRequestError, match="Escalation policy 99 does not exist") as bad:
        ilert.create_alert_source(full_request())
    with pytest.raises(UnauthorizedError, match="ILERT_API_TOKEN") as unauthorized:
        ilert.get_alert_source(1)

    for error in (bad.value, unauthorized.value):
        assert TOKEN not in str(error)


def test_page_size_is_capped_at_ilerts_maximum(ilert: IlertClient) -> None:
    with pytest.raises(ValueError, match="between 1 and 50"):
        list(ilert.list_alert_sources(page_size=51))


# -- routing: the alert source's eventFilter (include-only) -------------------------------------

FILTER = "event.customDetails.severity == 'critical'"


@responses.activate
def test_every_single_source_call_asks_for_the_include_only_fields_named(
    ilert: IlertClient,
) -> None:
    include = [matchers.query_param_matcher({"include": SCHEMA.include_only})]
    responses.post(f"{BASE}/api/alert-sources", status=201,
                   json=source_json(eventFilter=FILTER), match=include)
    responses.get(f"{BASE}/api/alert-sources/7", json=source_json(eventFilter=FILTER),
                  match=include)
    responses.put(f"{BASE}/api/alert-sources/7", json=source_json(), match=include)
    inputs = {"name": "Level 7", "escalation_policy": 1, "event_filter": FILTER}

    assert SCHEMA.include_only == [
        "eventFilter", "eventTypeFilterCreate", "eventTypeFilterAccept", "eventTypeFilterResolve",
        "summaryTemplate", "detailsTemplate", "routingTemplate", "alertKeyTemplate",
        "linkTemplates", "priorityTemplate", "severityTemplate", "servicesTemplate",
    ]
    created = ilert.create_alert_source(create_body(**inputs), include=SCHEMA.include_only)
    read = ilert.get_alert_source(7, include=SCHEMA.include_only)
    cleared = ilert.update_alert_source(
        7, body(**{**inputs, "event_filter": None}), include=SCHEMA.include_only
    )

    assert json.loads(responses.calls[0].request.body or b"")["eventFilter"] == FILTER
    assert "eventFilter" not in json.loads(responses.calls[2].request.body or b"")
    assert (created.event_filter, read.event_filter, cleared.event_filter) == (FILTER, FILTER, None)
    assert created.includes_read and read.includes_read and cleared.includes_read


@responses.activate
def test_a_listed_source_does_not_claim_to_know_its_filter(ilert: IlertClient) -> None:
    responses.get(f"{BASE}/api/alert-sources", json=[source_json()])
    (listed,) = ilert.list_alert_sources()
    assert listed.event_filter is None
    assert listed.includes_read is False


@responses.activate
def test_fields_are_every_field_as_ilert_sent_it_in_its_case(ilert: IlertClient) -> None:
    responses.get(f"{BASE}/api/alert-sources/7", json=source_json(eventFilter=FILTER))

    fields = ilert.get_alert_source(7).fields

    assert fields["integrationUrl"] == f"{BASE}/api/v1/events/levelio/il1lev{7:020x}"
    assert fields["escalationPolicy"]["id"] == 1
    assert fields["eventFilter"] == FILTER
    assert fields["someFieldIlertAddsNextYear"] == {"x": 1}
    assert "integration_url" not in fields


def test_a_body_with_an_event_filter_is_one_ilerts_spec_accepts() -> None:
    sent = create_body(name="Level", escalation_policy=1, event_filter=FILTER)
    assert sent["eventFilter"] == FILTER
    check_request("AlertSourceRel", sent)
