"""LevelWebhookProvider against the sandbox: check, CRUD, drift seen and repaired."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.dynamic import Config, ConfigureRequest, DiffResult
from pulumi.output import UNKNOWN, Unknown
from pulumi.runtime import rpc

from clients.endpoints import MissingCredentialError
from clients.http import ForbiddenError, UnauthorizedError
from providers.engine_adapter import ADD, UPDATE, DetailedReplaces
from providers.level_webhook import LevelWebhookProvider
from sandbox import LEVEL_READONLY_KEY, Sandbox
from tests.providers.conftest import new_command

BLOB = "not-inspected-by-the-provider"
URL = "https://api.ilert.com/api/v1/events/levelio/il1lev0123"


def checked(provider: LevelWebhookProvider, **inputs: Any) -> dict[str, Any]:
    result = provider.check({}, {"__provider": BLOB, **inputs})
    assert [(f.property, f.reason) for f in result.failures] == []
    return result.inputs


def created(
    provider: LevelWebhookProvider, **inputs: Any
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    news = checked(provider, **inputs)
    result = provider.create(news)
    assert result.outs is not None
    return result.id, result.outs, news


def test_check_defaults_to_both_alert_events_sorted(
    webhooks: LevelWebhookProvider, sandbox: Sandbox
) -> None:
    inputs = checked(webhooks, url=URL, event_types=["alert_resolved", "alert_active"])

    assert inputs == {
        "__provider": BLOB,
        "url": URL,
        "event_types": ["alert_active", "alert_resolved"],
        "enabled": True,
        "secret": None,
        "device_groups": None,
        "adopt": False,
        "alert_source_id": None,
    }
    assert checked(webhooks, url=URL)["event_types"] == ["alert_active", "alert_resolved"]
    assert sandbox.count() == 0


@pytest.mark.parametrize(
    ("inputs", "prop", "says"),
    [
        ({}, "url", "url is required"),
        ({"url": "api.ilert.com/x"}, "url", "absolute https:// URL"),
        ({"url": "http://api.ilert.com/x"}, "url", "must use https://"),
        ({"url": URL, "event_types": ["alert_active"]}, "event_types", "one-way sync"),
        ({"url": URL, "event_types": ["alert_resolved"]}, "event_types", "one-way sync"),
        (
            {"url": URL, "event_types": ["alert_active", "alert_resolved", "alert.active"]},
            "event_types",
            "unknown event ids 'alert.active'",
        ),
        (
            {"url": URL, "event_types": ["alert_active", "alert_resolved", "alert_active"]},
            "event_types",
            "twice",
        ),
        ({"url": URL, "secret": "  "}, "secret", "must not be blank"),
        ({"url": URL, "enabled": "sometimes"}, "enabled", "valid boolean"),
    ],
)
def test_check_names_the_property_and_the_fix(
    webhooks: LevelWebhookProvider,
    inputs: dict[str, Any],
    prop: str,
    says: str,
) -> None:
    result = webhooks.check({}, {"__provider": BLOB, **inputs})

    found = {f.property: f.reason for f in result.failures}
    assert prop in found, found
    assert says in found[prop]


def test_check_never_echoes_a_secret(webhooks: LevelWebhookProvider) -> None:
    result = webhooks.check({}, {"__provider": BLOB, "url": URL, "secret": 12345})

    assert "12345" not in " ".join(f.reason for f in result.failures)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "127.0.0.2"])
def test_plain_http_is_allowed_for_loopback_only(webhooks: LevelWebhookProvider, host: str) -> None:
    checked(webhooks, url=f"http://{host}:8790/api/v1/events/levelio/k")


def test_unknown_url_in_preview_passes_check(webhooks: LevelWebhookProvider) -> None:
    inputs = checked(webhooks, url=UNKNOWN)

    assert isinstance(inputs["url"], Unknown)
    assert inputs["event_types"] == ["alert_active", "alert_resolved"]


def test_create_read_diff_with_one_request_each(
    webhooks: LevelWebhookProvider, sandbox: Sandbox
) -> None:
    webhook_id, outs, news = created(webhooks, url=URL, secret="s3cr3t")
    assert sandbox.count() == 2  # the look-up for a webhook to this URL, then the POST
    assert sandbox.count("level", "POST") == 1
    assert outs["has_secret"] is True
    assert outs["secret"] == "s3cr3t"
    assert sandbox.level_webhooks()[0]["event_types"] == ["alert_active", "alert_resolved"]

    new_command()  # refresh: a new provider process, so a new listing
    read = webhooks.read(webhook_id, outs)
    assert sandbox.count() == 3
    assert read.outs == outs
    assert read.inputs is not None
    assert rpc.unwrap_rpc_secret(read.inputs["url"]) == URL
    assert rpc.is_rpc_secret(read.inputs["url"])

    assert webhooks.diff(webhook_id, outs, news).changes is False
    assert webhooks.diff(webhook_id, outs, {**news, "__provider": "upgraded"}).changes is False
    assert sandbox.count() == 3


def named(diff: DiffResult) -> dict[str, int]:
    """The properties a diff names for the engine, with their PropertyDiff kinds."""
    assert isinstance(diff.replaces, DetailedReplaces)
    return diff.replaces.detailed


@pytest.mark.parametrize(
    ("change", "drifted"),
    [
        ({"event_types": ["alert_active"]}, {"event_types": UPDATE}),
        ({"enabled": False}, {"enabled": UPDATE}),
        ({"url": "https://elsewhere.example/hook"}, {"url": UPDATE}),
        ({"secret": None}, {"secret": ADD}),  # Level dropped it: the declared one is added back
        # "Send all event types" (null) in Level's UI: our explicit list is added back.
        ({"event_types": None}, {"event_types": ADD}),
    ],
)
def test_drift_behind_pulumis_back_is_seen_named_and_repaired(
    webhooks: LevelWebhookProvider, sandbox: Sandbox, change: dict[str, Any],
    drifted: dict[str, int],
) -> None:
    webhook_id, outs, news = created(webhooks, url=URL, secret="s3cr3t")
    sandbox.level_edit_webhook(webhook_id, **change)

    new_command()
    read = webhooks.read(webhook_id, outs)
    assert read.outs is not None
    assert read.outs != outs
    diff = webhooks.diff(webhook_id, read.outs, news)
    assert diff.changes is True
    assert named(diff) == drifted  # exactly the drifted property: no adopt, no updated_at

    sandbox.requests.clear()
    updated = webhooks.update(webhook_id, read.outs, news)
    assert sandbox.count() == 1
    assert sandbox.count("level", "PATCH") == 1
    assert updated.outs is not None
    assert webhooks.diff(webhook_id, updated.outs, news).changes is False
    live = sandbox.level_webhooks()[0]
    assert (live["url"], live["enabled"], live["event_types"], live["has_secret"]) == (
        URL, True, ["alert_active", "alert_resolved"], True,
    )


def test_new_url_is_an_in_place_patch_and_event_types_compare_as_a_set(
    webhooks: LevelWebhookProvider, sandbox: Sandbox
) -> None:
    webhook_id, outs, news = created(webhooks, url=URL)

    moved = {**news, "url": "https://api.ilert.com/api/v1/events/levelio/other"}
    diff = webhooks.diff(webhook_id, outs, moved)
    reordered = {**news, "event_types": ["alert_resolved", "alert_active"]}

    assert (diff.changes, diff.replaces) == (True, [])
    assert webhooks.diff(webhook_id, outs, reordered).changes is False
    webhooks.update(webhook_id, outs, moved)
    assert sandbox.level_webhooks()[0]["id"] == webhook_id
    assert sandbox.level_webhooks()[0]["url"].endswith("/other")


def test_secret_rotation_and_removal(webhooks: LevelWebhookProvider, sandbox: Sandbox) -> None:
    webhook_id, outs, news = created(webhooks, url=URL, secret="one")

    rotated = {**news, "secret": "two"}
    assert webhooks.diff(webhook_id, outs, rotated).changes is True
    outs = webhooks.update(webhook_id, outs, rotated).outs or {}
    assert outs["secret"] == "two"

    removed = {**news, "secret": None}
    assert webhooks.diff(webhook_id, outs, removed).changes is True
    outs = webhooks.update(webhook_id, outs, removed).outs or {}
    assert outs["has_secret"] is False
    assert sandbox.level_webhooks()[0]["has_secret"] is False


def test_deleted_behind_pulumis_back_reads_as_gone_and_delete_twice_is_fine(
    webhooks: LevelWebhookProvider, sandbox: Sandbox
) -> None:
    webhook_id, outs, _ = created(webhooks, url=URL)
    sandbox.level_delete_webhook(webhook_id)
    new_command()
    sandbox.requests.clear()

    assert webhooks.read(webhook_id, outs).id == ""
    assert sandbox.count("level", "GET") == 2  # the listing, then a GET to confirm

    sandbox.requests.clear()
    webhooks.delete(webhook_id, outs)
    webhooks.delete(webhook_id, outs)
    # One DELETE each; Level's 404 for a webhook already gone counts as deleted.
    assert [(r.method, r.path, r.status) for r in sandbox.requests] == [
        ("DELETE", f"/v2/webhooks/{webhook_id}", 404),
    ] * 2


def test_delete_is_one_request(webhooks: LevelWebhookProvider, sandbox: Sandbox) -> None:
    webhook_id, outs, _ = created(webhooks, url=URL)
    sandbox.requests.clear()

    webhooks.delete(webhook_id, outs)

    assert sandbox.count() == 1
    assert sandbox.level_webhooks() == []


def provider_with(config: dict[str, str]) -> LevelWebhookProvider:
    provider = LevelWebhookProvider()
    provider.configure(ConfigureRequest(Config(config, "level-ilert")))
    return provider


def test_read_only_key_fails_with_the_fix_and_no_key_in_the_text(sandbox: Sandbox) -> None:
    provider = provider_with(
        {"level:apiKey": LEVEL_READONLY_KEY, "level:baseUrl": sandbox.level_url}
    )

    with pytest.raises(ForbiddenError, match=r"HTTP 403.*level:apiKey") as caught:
        provider.create(checked(provider, url=URL))

    assert "level:apiKey" in str(caught.value)
    assert LEVEL_READONLY_KEY not in str(caught.value)


def test_wrong_key_is_unauthorized_without_echoing_it(sandbox: Sandbox) -> None:
    provider = provider_with({"level:apiKey": "wrong-key-123", "level:baseUrl": sandbox.level_url})

    with pytest.raises(UnauthorizedError, match=r"HTTP 401.*LEVEL_API_KEY") as caught:
        provider.create(checked(provider, url=URL))

    assert "LEVEL_API_KEY" in str(caught.value)
    assert "wrong-key-123" not in str(caught.value)


def test_missing_key_names_config_and_env(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEVEL_API_KEY", raising=False)
    provider = provider_with({"level:baseUrl": sandbox.level_url})

    with pytest.raises(MissingCredentialError, match=r"level:apiKey.*LEVEL_API_KEY"):
        provider.create(checked(provider, url=URL))


SOURCE_ID = "100001"
UNKNOWN_VALUE = Unknown()  # type: ignore[no-untyped-call]


@pytest.mark.parametrize(
    ("url", "source_id", "recorded_id", "url_changes"),
    [
        # A preview while the source is updated in place: the URL is unknown, the id is not.
        (UNKNOWN_VALUE, SOURCE_ID, SOURCE_ID, False),
        # A preview while the source is replaced: both unknown, the URL will change.
        (UNKNOWN_VALUE, UNKNOWN_VALUE, SOURCE_ID, True),
        # State written before the source id was recorded: a known id still means the
        # source is updated in place, so its URL stays.
        (UNKNOWN_VALUE, SOURCE_ID, None, False),
        # No id given at all (the resource used directly without alert_source_id).
        (UNKNOWN_VALUE, None, SOURCE_ID, True),
        # Another source's id (the webhook moved to another integration's source).
        (UNKNOWN_VALUE, "100002", SOURCE_ID, True),
        # Known URLs compare as they are, whatever the ids.
        (URL, "100002", SOURCE_ID, False),
        (URL + "x", SOURCE_ID, SOURCE_ID, True),
    ],
)
def test_an_unknown_url_is_a_change_only_when_the_alert_source_is_replaced(
    webhooks: LevelWebhookProvider, url: object, source_id: object, recorded_id: str | None,
    url_changes: bool,
) -> None:
    olds = {"url": URL, "event_types": ["alert_active", "alert_resolved"], "enabled": True,
            "has_secret": False, "secret": None, "alert_source_id": recorded_id}
    news = {"__provider": BLOB, "url": url, "event_types": ["alert_active", "alert_resolved"],
            "enabled": True, "secret": None, "adopt": False, "alert_source_id": source_id}

    diff = webhooks.diff("wh-1", olds, news)

    assert diff.changes is url_changes
    assert named(diff) == ({"url": UPDATE} if url_changes else {})


def test_the_alert_source_id_is_recorded_and_read_back(webhooks: LevelWebhookProvider) -> None:
    webhook_id, outs, _ = created(webhooks, url=URL, alert_source_id=SOURCE_ID)
    new_command()

    read = webhooks.read(webhook_id, outs)

    assert outs["alert_source_id"] == SOURCE_ID
    assert read.outs is not None and read.outs["alert_source_id"] == SOURCE_ID
    assert read.inputs is not None and read.inputs["alert_source_id"] == SOURCE_ID
