"""Never a duplicate: take over a hand-made setup with `adopt`, refuse one without it.

Most users followed Level's manual procedure before they found this project: their alert
source and webhook exist. These tests make that setup by hand (through the APIs, as the
UIs would), then run the providers' create as `pulumi up` does.
"""

from __future__ import annotations

from typing import Any

import pytest

from clients.ilert import IlertClient
from clients.level import LevelClient
from providers.ilert_alert_source import AlertSourceExistsError, IlertAlertSourceProvider
from providers.level_webhook import LevelWebhookProvider, WebhookExistsError
from providers.provider_base import ADOPT_ENV
from sandbox import ILERT_TOKEN, LEVEL_API_KEY, Sandbox

BLOB = "not-inspected-by-the-provider"


@pytest.fixture(autouse=True)
def _no_adopt_for_the_whole_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's shell may export LEVEL_ILERT_ADOPT; these tests mean a run without it."""
    monkeypatch.delenv(ADOPT_ENV, raising=False)


def hand_made_source(sandbox: Sandbox, name: str = "Level - Acme") -> dict[str, Any]:
    """An alert source as Level's manual procedure makes it in ilert's UI."""
    client = IlertClient(sandbox.ilert_url, ILERT_TOKEN)
    created = client.create_alert_source(
        {"name": name, "integrationType": "LEVELIO", "escalationPolicy": {"id": 1}}
    )
    return sandbox.ilert_alert_source(created.id)


def hand_made_webhook(sandbox: Sandbox, url: str) -> str:
    """A Level webhook as the manual procedure makes it: one event only, by mistake."""
    client = LevelClient(sandbox.level_url, LEVEL_API_KEY)
    return client.create_webhook({"url": url, "event_types": ["alert_active"]}).id


def create_source(provider: IlertAlertSourceProvider, **inputs: Any) -> Any:
    checked = provider.check({}, {"__provider": BLOB, **inputs})
    assert checked.failures == []
    return provider.create(checked.inputs)


def create_webhook(provider: LevelWebhookProvider, **inputs: Any) -> Any:
    checked = provider.check({}, {"__provider": BLOB, **inputs})
    assert checked.failures == []
    return provider.create(checked.inputs)


def test_an_existing_source_is_refused_by_id_with_both_ways_out_and_nothing_is_written(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    existing = hand_made_source(sandbox)
    sandbox.requests.clear()

    with pytest.raises(AlertSourceExistsError, match=f"id {existing['id']}") as caught:
        create_source(alert_sources, name="Level - Acme", escalation_policy=2)

    assert "`adopt: true`" in str(caught.value) and "another name" in str(caught.value)
    assert [r.method for r in sandbox.requests] == ["GET"]  # one listing page, no write
    assert len(sandbox.ilert_alert_sources()) == 1


def test_adopt_takes_the_source_over_with_one_put_and_keeps_its_url(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    existing = hand_made_source(sandbox)
    sandbox.ilert_edit_alert_source(existing["id"], summaryTemplate="{{ data.name }}!")
    sandbox.requests.clear()

    result = create_source(
        alert_sources, name="Level - Acme", escalation_policy=2, alert_priority_rule="LOW",
        auto_resolution_timeout="PT2H", adopt=True,
    )

    assert result.id == str(existing["id"])
    assert result.outs["integration_url"] == existing["integrationUrl"]
    # The listing finds it, one GET reads what the inputs leave alone (the summary template
    # made by hand, which a whole-object PUT without it would reset), one PUT takes it over.
    path = f"/api/alert-sources/{existing['id']}"
    assert [(r.method, r.path) for r in sandbox.requests] == [
        ("GET", "/api/alert-sources"), ("GET", path), ("PUT", path),
    ]
    assert sandbox.ilert.get_alert_source(existing["id"], ["summaryTemplate", "textTemplate"])[
        "summaryTemplate"
    ] == {"textTemplate": "{{data.name}}!"}
    live = sandbox.ilert_alert_source(existing["id"])
    assert (live["escalationPolicy"]["id"], live["alertPriorityRule"]) == (2, "LOW")
    assert live["autoResolutionTimeout"] == "PT2H"
    assert live["integrationKey"] == existing["integrationKey"]
    assert len(sandbox.ilert_alert_sources()) == 1


def test_a_source_of_another_type_or_name_is_not_a_duplicate(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    hand_made_source(sandbox, name="Level - Acme (old)")

    result = create_source(alert_sources, name="Level - Acme", escalation_policy=1)

    assert len(sandbox.ilert_alert_sources()) == 2
    assert result.outs["name"] == "Level - Acme"


def test_two_sources_of_that_name_are_listed_and_none_is_guessed(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    first, second = hand_made_source(sandbox), hand_made_source(sandbox)

    with pytest.raises(AlertSourceExistsError, match="has 2 alert source") as caught:
        create_source(alert_sources, name="Level - Acme", escalation_policy=1, adopt=True)

    assert f"ids {first['id']}, {second['id']}" in str(caught.value)
    assert sandbox.count("ilert", "PUT") == 0


def test_an_existing_webhook_to_the_url_is_refused_without_showing_the_url(
    webhooks: LevelWebhookProvider, sandbox: Sandbox
) -> None:
    url = hand_made_source(sandbox)["integrationUrl"]
    existing = hand_made_webhook(sandbox, url)
    sandbox.requests.clear()

    with pytest.raises(WebhookExistsError, match=f"id {existing}") as caught:
        create_webhook(webhooks, url=url)

    assert "deliver every alert twice" in str(caught.value)
    assert url not in str(caught.value)
    assert sandbox.count("level", "POST") == 0
    assert len(sandbox.level_webhooks()) == 1


def test_adopt_takes_the_webhook_over_with_one_patch_to_the_declared_events(
    webhooks: LevelWebhookProvider, sandbox: Sandbox
) -> None:
    url = hand_made_source(sandbox)["integrationUrl"]
    existing = hand_made_webhook(sandbox, url)
    sandbox.requests.clear()

    result = create_webhook(webhooks, url=url, secret="hmac-1", adopt=True)

    assert result.id == existing
    assert [(r.method, r.path) for r in sandbox.requests] == [
        ("GET", "/v2/webhooks"), ("PATCH", f"/v2/webhooks/{existing}"),
    ]
    (live,) = sandbox.level_webhooks()
    assert live["event_types"] == ["alert_active", "alert_resolved"]  # two-way sync restored
    assert (live["enabled"], live["has_secret"]) == (True, True)


def test_two_webhooks_to_the_url_are_listed_by_id(
    webhooks: LevelWebhookProvider, sandbox: Sandbox
) -> None:
    url = hand_made_source(sandbox)["integrationUrl"]
    ids = [hand_made_webhook(sandbox, url), hand_made_webhook(sandbox, url)]

    with pytest.raises(WebhookExistsError, match="has 2 webhooks") as caught:
        create_webhook(webhooks, url=url, adopt=True)

    assert ", ".join(sorted(ids)) in str(caught.value) or ", ".join(ids) in str(caught.value)
    assert sandbox.count("level", "PATCH") == 0
