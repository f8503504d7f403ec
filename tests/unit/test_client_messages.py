"""The ilert and Level clients as a user meets them: the text of their errors and the
settings they honour (retries, timeouts, pacing, deadline), word for word.

Each error names the API, the method and path, the server's own words and the config key
to fix (``ilert:apiToken``, ``level:baseUrl``, ...); a URL or secret the server quotes back
is hidden. Against `responses` mocks; no network.
"""

from __future__ import annotations

import json

import pytest
import responses
from responses import matchers

from clients.http import (
    ApiError,
    DeadlineExceededError,
    RateLimit,
    ResponseLostError,
    RetryPolicy,
    ServerError,
    Timeouts,
)
from clients.ilert import IlertClient
from clients.level import LevelClient
from tests.unit.test_http_policy import Script, server
from tests.unit.test_ilert_api import body as source_body
from tests.unit.test_ilert_api import create_body as source_create_body
from tests.unit.test_level_api import body as webhook_body

__all__ = ["server"]  # the loopback server fixture, imported for this module's tests

ILERT = "https://api.ilert.test"
LEVEL = "https://api.level.test"
ONCE = RetryPolicy(attempts=1)
ILERT_HINT = "set ilert:apiToken (pulumi config set --secret) or ILERT_API_TOKEN"
LEVEL_HINT = "set level:apiKey (pulumi config set --secret) or LEVEL_API_KEY to a read & write key"
MANUAL = (
    "This Level organisation's API does not offer webhook management (it answered 404 on "
    "/v2/webhooks). Set `pulumi config set level:webhookManagement manual` to have the stack "
    "output the ilert URL and the Level UI steps instead of calling Level"
)
HOOK = {"id": "W1", "url": "https://ilert.test/x", "enabled": True, "event_types": None}


def ilert(**kwargs: object) -> IlertClient:
    return IlertClient(ILERT, "il-token-123", **{"retry": ONCE, **kwargs})  # type: ignore[arg-type]


def level(**kwargs: object) -> LevelClient:
    return LevelClient(LEVEL, "lv-key-123", **{"retry": ONCE, **kwargs})  # type: ignore[arg-type]


def error_of(call: object) -> str:
    with pytest.raises(ApiError, match=" failed ") as caught:
        call()  # type: ignore[operator]
    return str(caught.value)


@responses.activate
def test_ilert_errors_name_the_api_the_call_and_the_token_settings() -> None:
    for method, path in (("GET", "/api/alert-sources/7"), ("PUT", "/api/alert-sources/7"),
                         ("DELETE", "/api/alert-sources/7"), ("GET", "/api/alerts/9"),
                         ("GET", "/api/escalation-policies/3")):
        responses.add(method, ILERT + path, status=401, json={"message": "Unauthorized"})
    request = source_body(name="x", escalation_policy=1)
    calls = [
        ("GET /api/alert-sources/7", lambda: ilert().get_alert_source(7)),
        ("PUT /api/alert-sources/7", lambda: ilert().update_alert_source(7, request)),
        ("DELETE /api/alert-sources/7", lambda: ilert().delete_alert_source(7)),
        ("GET /api/alerts/9", lambda: ilert().get_alert(9)),
        ("GET /api/escalation-policies/3", lambda: ilert().get_escalation_policy(3)),
    ]

    for call_text, call in calls:
        assert error_of(call) == (
            f"ilert API {call_text} failed (HTTP 401): Unauthorized. Check the credential: "
            f"{ILERT_HINT}."
        )


@responses.activate
def test_level_errors_name_the_api_the_call_and_the_key_settings() -> None:
    for method, path in (("GET", "/v2/webhooks/W1"), ("PATCH", "/v2/webhooks/W1"),
                         ("DELETE", "/v2/webhooks/W1"), ("GET", "/v2/alerts/A1"),
                         ("POST", "/v2/alerts/A1/resolve")):
        responses.add(method, LEVEL + path, status=403, json={"error": "Read-only key"})
    calls = [
        ("GET /v2/webhooks/W1", lambda: level().get_webhook("W1")),
        ("PATCH /v2/webhooks/W1", lambda: level().update_webhook("W1", {})),
        ("DELETE /v2/webhooks/W1", lambda: level().delete_webhook("W1")),
        ("GET /v2/alerts/A1", lambda: level().get_alert("A1")),
        ("POST /v2/alerts/A1/resolve", lambda: level().resolve_alert("A1")),
    ]

    for call_text, call in calls:
        assert error_of(call) == (
            f"Level API {call_text} failed (HTTP 403): Read-only key. The credential may not "
            f"do this; check its access ({LEVEL_HINT})."
        )


@pytest.mark.parametrize("operation", ["list", "create"])
@responses.activate
def test_no_webhooks_collection_says_use_manual_mode(operation: str) -> None:
    responses.get(f"{LEVEL}/v2/webhooks", status=404, json={"error": "Not Found"})
    responses.post(f"{LEVEL}/v2/webhooks", status=404, json={"error": "Not Found"})
    method = "GET" if operation == "list" else "POST"

    def call() -> object:
        if operation == "list":
            return list(level().list_webhooks())
        return level().create_webhook(webhook_body(url="https://x.test/h"))

    assert error_of(call) == (
        f"Level API {method} /v2/webhooks failed (HTTP 404): Not Found. {MANUAL}"
    )


@responses.activate
def test_a_url_or_secret_the_server_quotes_back_is_hidden() -> None:
    url, secret = "https://ilert.test/api/v1/events/levelio/il1levSECRET", "whsec-SECRET-9"
    said = {"error": f"cannot deliver to {url} with {secret}"}
    responses.post(f"{LEVEL}/v2/webhooks", status=400, json=said)
    responses.patch(f"{LEVEL}/v2/webhooks/W1", status=400, json=said)

    recorded = {"secret": "an older one", "has_secret": True, "group_ids": None}
    for call in (
        lambda: level().create_webhook(webhook_body(url=url, secret=secret)),
        lambda: level().update_webhook("W1", webhook_body(recorded, url=url, secret=secret)),
    ):
        text = error_of(call)
        assert "cannot deliver to *** with ***" in text
        assert "SECRET" not in text


@responses.activate
def test_a_malformed_item_in_a_listing_names_the_call_and_the_field() -> None:
    responses.get(f"{LEVEL}/v2/webhooks", json={"data": [{"id": "W1"}], "has_more": False})
    responses.get(f"{LEVEL}/v2/alerts", json={"data": [{"name": "no id"}], "has_more": False})
    responses.get(f"{ILERT}/api/escalation-policies", json=[{"id": 1}])

    assert error_of(lambda: list(level().list_webhooks())) == (
        "Level API GET /v2/webhooks failed (no answer): the answer does not have the shape of "
        "Webhook (url: Field required). The API may have changed; this client needs updating."
    )
    assert error_of(lambda: level().list_alerts()) == (
        "Level API GET /v2/alerts failed (no answer): the answer does not have the shape of "
        "LevelAlert (id: Field required). The API may have changed; this client needs updating."
    )
    assert error_of(lambda: list(ilert().list_escalation_policies())) == (
        "ilert API GET /api/escalation-policies failed (no answer): the answer does not have "
        "the shape of EscalationPolicy (name: Field required). The API may have changed; this "
        "client needs updating."
    )


@pytest.mark.parametrize("client", [ilert, level])
def test_a_bad_base_url_names_its_setting(client: object) -> None:
    setting = "ilert:baseUrl" if client is ilert else "level:baseUrl"
    base = "https://api.example.com/api"

    with pytest.raises(ValueError, match="remove the path") as caught:
        (IlertClient if client is ilert else LevelClient)(base, "key")

    assert str(caught.value) == (
        f"{setting} must be scheme and host only, such as https://api.example.com; remove the "
        f"path, the client adds the API's own path (/api, /v2)"
    )


@responses.activate
@pytest.mark.parametrize("client", [ilert, level])
def test_the_retry_policy_given_is_the_one_used(client: object) -> None:
    responses.get(f"{ILERT}/api/alert-sources/1", status=503, json={"message": "busy"})
    responses.get(f"{LEVEL}/v2/webhooks/W1", status=503, json={"error": "busy"})
    two = RetryPolicy(attempts=2, backoff_factor=0, backoff_jitter=0)

    def call() -> object:
        if client is ilert:
            return ilert(retry=two).get_alert_source(1)
        return level(retry=two).get_webhook("W1")

    with pytest.raises(ServerError, match="on the last of 2 attempts"):
        call()

    assert len(responses.calls) == 2


@responses.activate
@pytest.mark.parametrize("client", [ilert, level])
def test_pacing_and_the_deadline_name_the_clients_timeout_setting(client: object) -> None:
    responses.get(f"{ILERT}/api/alert-sources/1", status=404, json={"message": "gone"})
    responses.get(f"{LEVEL}/v2/webhooks/W1", status=404, json={"error": "gone"})
    setting = "ilert" if client is ilert else "level"
    kwargs = {"rate_limit": RateLimit(requests=1, window_seconds=5), "operation_timeout": 0.3}
    ilert_client, level_client = ilert(**kwargs), level(**kwargs)  # each owns its pacer

    def call() -> object:
        if client is ilert:
            return ilert_client.get_alert_source(1)
        return level_client.get_webhook("W1")

    error_of(call)  # 404: the only request slot is spent
    with pytest.raises(DeadlineExceededError, match="no request slot") as caught:
        call()

    assert str(caught.value).endswith(
        f"The operation's deadline of 0.3 s ({setting}:operationTimeoutSeconds) passed; raise "
        f"it for a slow network or API, or try again later."
    )
    assert len(responses.calls) == 1


@responses.activate
def test_alert_ids_and_filters_reach_level_as_sent() -> None:
    alert = {"id": "a/b", "is_resolved": False}
    responses.get(f"{LEVEL}/v2/alerts/a%2Fb", json=alert)
    responses.post(f"{LEVEL}/v2/alerts/a%2Fb/resolve", json=alert)
    responses.get(
        f"{LEVEL}/v2/alerts",
        json={"data": [alert], "has_more": False},
        match=[matchers.query_param_matcher({"device_id": "D7", "limit": "1"})],
    )

    assert level().get_alert("a/b").id == "a/b"
    level().resolve_alert("a/b")
    assert [a.id for a in level().list_alerts(device_id="D7", page_size=1)] == ["a/b"]


@responses.activate
def test_level_pages_of_one_and_the_limits_of_a_page() -> None:
    responses.get(
        f"{LEVEL}/v2/webhooks", json={"data": [HOOK], "has_more": False},
        match=[matchers.query_param_matcher({"limit": "1"})],
    )

    assert [h.id for h in level().list_webhooks(page_size=1)] == ["W1"]
    with pytest.raises(ValueError, match="page_size") as caught:
        list(level().list_webhooks(page_size=101))
    assert str(caught.value) == "page_size must be between 1 and 100"


@responses.activate
@pytest.mark.parametrize("answer", [[HOOK], {"items": [HOOK]}, {"data": "none"}])
def test_a_listing_without_a_data_list_is_refused(answer: object) -> None:
    responses.get(f"{LEVEL}/v2/webhooks", json=answer)

    with pytest.raises(ApiError, match="data list") as caught:
        list(level().list_webhooks())

    assert str(caught.value) == (
        "Level API GET /v2/webhooks failed (no answer): the answer has no data list (a page). "
        "The API may have changed; this client needs updating."
    )


@responses.activate
def test_a_level_listing_that_never_ends_is_cut_off() -> None:
    responses.get(f"{LEVEL}/v2/webhooks", json={"data": [HOOK], "has_more": True})

    with pytest.raises(ApiError, match="has_more") as caught:
        list(level().list_webhooks())

    assert str(caught.value) == (
        "Level API GET /v2/webhooks failed (no answer): has_more was still true after 1000 "
        "pages. The API may have changed; this client needs updating."
    )
    assert len(responses.calls) == 1000


@responses.activate
def test_the_ilert_body_sends_teams_as_ids_only_when_declared() -> None:
    responses.post(f"{ILERT}/api/alert-sources", status=201, json={
        "id": 1, "name": "x", "integrationType": "LEVELIO", "escalationPolicy": {"id": 1},
    })
    ilert().create_alert_source(source_create_body(name="x", escalation_policy=1, teams=[2, 1, 2]))
    ilert().create_alert_source(source_create_body(name="x", escalation_policy=1))

    first, second = (json.loads(call.request.body or b"") for call in responses.calls)
    assert first["teams"] == [{"id": 1}, {"id": 2}]
    assert "teams" not in second


def test_a_client_shows_its_api_and_url_and_refuses_to_be_pickled() -> None:
    import pickle

    client = ilert()._api  # the HTTP client under the typed one (what a traceback shows)

    assert repr(client) == "ApiClient(api='ilert', base_url='https://api.ilert.test')"
    with pytest.raises(TypeError, match="holds a credential") as caught:
        pickle.dumps(client)
    assert str(caught.value) == "ApiClient holds a credential and must not be pickled"


@responses.activate
def test_a_malformed_nested_field_is_named_by_its_path() -> None:
    responses.get(f"{ILERT}/api/alert-sources/7", json={
        "id": 7, "name": "x", "integrationType": "LEVELIO", "escalationPolicy": {"name": "P"},
    })

    assert error_of(lambda: ilert().get_alert_source(7)) == (
        "ilert API GET /api/alert-sources/7 failed (no answer): the answer does not have the "
        "shape of AlertSource (escalationPolicy.id: Field required). The API may have changed; "
        "this client needs updating."
    )


@responses.activate
def test_malformed_ilert_listings_name_the_call() -> None:
    responses.get(f"{ILERT}/api/alert-sources", json=[{"id": 1}])
    responses.get(f"{ILERT}/api/alerts", json=[{"id": 1}])

    assert error_of(lambda: list(ilert().list_alert_sources())).startswith(
        "ilert API GET /api/alert-sources failed (no answer): the answer does not have the "
        "shape of AlertSource (name: Field required; "
    )
    assert error_of(lambda: ilert().list_alerts()) == (
        "ilert API GET /api/alerts failed (no answer): the answer does not have the shape of "
        "Alert (status: Field required). The API may have changed; this client needs updating."
    )


@responses.activate
def test_an_answer_of_the_wrong_shape_names_the_call() -> None:
    responses.get(f"{ILERT}/api/alert-sources/7", json=[1, 2])

    assert error_of(lambda: ilert().get_alert_source(7)) == (
        "ilert API GET /api/alert-sources/7 failed (no answer): the answer does not have the "
        "shape of AlertSource (the body: Input should be a valid dictionary or instance of "
        "AlertSource). The API may have changed; this client needs updating."
    )


@responses.activate
def test_ilert_pages_of_one_and_the_limits_of_a_page() -> None:
    responses.get(
        f"{ILERT}/api/escalation-policies", json=[{"id": 1, "name": "Default"}],
        match=[matchers.query_param_matcher({"start-index": "0", "max-results": "1"})],
    )
    responses.get(
        f"{ILERT}/api/escalation-policies", json=[],
        match=[matchers.query_param_matcher({"start-index": "1", "max-results": "1"})],
    )

    assert [p.name for p in ilert().list_escalation_policies(page_size=1)] == ["Default"]
    with pytest.raises(ValueError, match="page_size") as caught:
        list(ilert().list_alert_sources(page_size=51))
    assert str(caught.value) == "page_size must be between 1 and 50"


@responses.activate
def test_an_ilert_listing_that_is_not_a_list_or_never_ends_is_refused() -> None:
    responses.get(f"{ILERT}/api/alert-sources", json={"items": []})
    responses.get(f"{ILERT}/api/escalation-policies", json=[{"id": 1, "name": "Default"}])

    with pytest.raises(ApiError, match="not a list") as not_a_list:
        list(ilert().list_alert_sources())
    with pytest.raises(ApiError, match="full pages") as endless:
        list(ilert().list_escalation_policies(page_size=1))

    assert str(not_a_list.value) == (
        "ilert API GET /api/alert-sources failed (no answer): the answer was not a list (a "
        "page). The API may have changed; this client needs updating."
    )
    assert str(endless.value) == (
        "ilert API GET /api/escalation-policies failed (no answer): full pages kept coming "
        "after 1000 pages. The API may have changed; this client needs updating."
    )


@responses.activate
def test_a_failing_listing_names_the_call() -> None:
    responses.get(f"{ILERT}/api/alert-sources", status=500, json={"message": "boom"})

    assert error_of(lambda: list(ilert().list_alert_sources())) == (
        "ilert API GET /api/alert-sources failed (HTTP 500): boom. The API failed: HTTP 500 "
        "on the only attempt."
    )


@pytest.mark.parametrize("client", [IlertClient, LevelClient])
def test_the_timeouts_given_are_the_ones_used(server: tuple[str, Script], client: type) -> None:
    url, script = server
    script.actions = [("slow", 0.6)]

    with pytest.raises(ResponseLostError, match=r"no answer came within 0\.2 s"):
        client(url, "key-1", retry=ONCE, timeouts=Timeouts(connect=1.0, read=0.2)).get_alert(
            1 if client is IlertClient else "A1"
        )

    assert len(script.seen) == 1
