"""LevelWebhookProvider: what one provider process answers and Level keeps, across operations.

The webhook secret is write-only in Level, so what Level stored is read from fake Level's
world (what it kept from the bodies it received); everything else through its API.
"""

from __future__ import annotations

import pytest
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.output import UNKNOWN
from pulumi.runtime import rpc

from clients.http import DeadlineExceededError
from providers.level_webhook import LevelWebhookProvider
from sandbox import LEVEL_API_KEY, LEVEL_READONLY_KEY, Sandbox
from tests.providers.conftest import new_command, stack_config
from tests.providers.test_webhook_provider import URL, checked, created


def stored_secret(sandbox: Sandbox) -> str | None:
    with sandbox.world.read() as state:
        (record,) = state.webhooks.values()
        return record.secret


def test_a_deleted_webhook_is_gone_for_the_rest_of_the_process(
    webhooks: LevelWebhookProvider,
) -> None:
    webhook_id, outs, _ = created(webhooks, url=URL)

    webhooks.delete(webhook_id, outs)

    assert webhooks.read(webhook_id, outs).id == ""


def test_read_returns_the_id_outputs_and_inputs_with_the_secret_marked_secret(
    webhooks: LevelWebhookProvider, sandbox: Sandbox
) -> None:
    webhook_id, outs, _ = created(webhooks, url=URL, secret="whsec-1", enabled=False)
    new_command()

    read = webhooks.read(webhook_id, outs)

    live = sandbox.level_webhooks()[0]
    assert read.id == webhook_id
    assert read.outs == {
        "url": URL, "event_types": ["alert_active", "alert_resolved"], "enabled": False,
        "has_secret": True, "secret": "whsec-1",
        "group_ids": None, "group_names": {}, "device_groups": None,
        "created_at": live["created_at"], "updated_at": live["updated_at"], "adopt": False,
        "alert_source_id": None,
    }
    assert read.inputs is not None
    for name, value in (("secret", "whsec-1"), ("url", URL)):  # inputs are not covered by
        secret = read.inputs.pop(name)                         # additional_secret_outputs
        assert rpc.is_rpc_secret(secret) and rpc.unwrap_rpc_secret(secret) == value
    assert read.inputs == {
        "event_types": ["alert_active", "alert_resolved"], "enabled": False, "adopt": False,
        "alert_source_id": None, "device_groups": None,
    }


def test_a_secret_removed_in_levels_ui_reads_as_none_and_is_set_again(
    webhooks: LevelWebhookProvider, sandbox: Sandbox
) -> None:
    webhook_id, outs, news = created(webhooks, url=URL, secret="whsec-1")
    sandbox.level_edit_webhook(webhook_id, secret=None)
    new_command()

    read = webhooks.read(webhook_id, outs)
    assert read.outs is not None and read.inputs is not None
    assert (read.outs["has_secret"], read.outs["secret"], read.inputs["secret"]) == (
        False, None, None,
    )
    # The declared secret still equals the one in state, yet Level has none: a change.
    assert webhooks.diff(webhook_id, {**read.outs, "secret": "whsec-1"}, news).changes is True
    webhooks.update(webhook_id, read.outs, news)

    assert stored_secret(sandbox) == "whsec-1"


def test_a_rotated_secret_reaches_level_and_an_unchanged_one_stays(
    webhooks: LevelWebhookProvider, sandbox: Sandbox
) -> None:
    webhook_id, outs, news = created(webhooks, url=URL, secret="one")

    outs = webhooks.update(webhook_id, outs, {**news, "secret": "two"}).outs or {}
    assert stored_secret(sandbox) == "two"
    outs = webhooks.update(webhook_id, outs, {**news, "secret": "two", "enabled": False}).outs or {}
    assert (stored_secret(sandbox), outs["secret"], outs["has_secret"]) == ("two", "two", True)


@pytest.mark.parametrize("field", ["url", "event_types", "enabled", "secret"])
def test_a_value_unknown_in_preview_shows_as_a_change(
    webhooks: LevelWebhookProvider, field: str
) -> None:
    webhook_id, outs, news = created(webhooks, url=URL, secret="s")

    assert webhooks.diff(webhook_id, outs, {**news, field: UNKNOWN}).changes is True


def test_the_rate_limit_and_deadline_settings_reach_every_request(sandbox: Sandbox) -> None:
    provider = LevelWebhookProvider()
    config = {
        **stack_config(sandbox),
        "level:rateLimitRequests": "1",
        "level:rateLimitWindowSeconds": "5",
        "level:operationTimeoutSeconds": "0.5",
    }
    provider.configure(ConfigureRequest(Config(config, "level-ilert")))

    with pytest.raises(DeadlineExceededError, match="no request slot") as caught:
        provider.create(checked(provider, url=URL))

    assert "deadline of 0.5 s (level:operationTimeoutSeconds)" in str(caught.value)
    assert sandbox.count() == 1  # the listing took the only slot; the POST was never sent


def test_each_level_base_url_and_key_has_its_own_listing(
    webhooks: LevelWebhookProvider, sandbox: Sandbox
) -> None:
    created(webhooks, url=URL)  # listed with the read & write key of this organisation

    with Sandbox() as other_org:
        other = LevelWebhookProvider()
        other.configure(ConfigureRequest(Config(stack_config(other_org), "level-ilert")))
        assert stack_config(other_org)["level:apiKey"] == LEVEL_API_KEY  # the same key
        created(other, url=URL)  # no webhook to this URL in the other organisation
        assert other_org.count("level", "POST") == 1

    read_only = LevelWebhookProvider()
    config = {**stack_config(sandbox), "level:apiKey": LEVEL_READONLY_KEY}
    read_only.configure(ConfigureRequest(Config(config, "level-ilert")))
    sandbox.requests.clear()
    assert read_only.read(sandbox.level_webhooks()[0]["id"], {}).id
    assert sandbox.count("level", "GET", "/v2/webhooks") == 1  # its own listing


def test_an_update_sends_the_secret_again_when_level_reported_none(
    webhooks: LevelWebhookProvider, sandbox: Sandbox
) -> None:
    """State that says Level has no secret (has_secret false) gets it set again, even when
    the declared secret equals the one in state."""
    webhook_id, outs, news = created(webhooks, url=URL, secret="whsec-1")
    sandbox.level_edit_webhook(webhook_id, secret=None)

    updated = webhooks.update(webhook_id, {**outs, "has_secret": False}, news)

    assert stored_secret(sandbox) == "whsec-1"
    assert updated.outs is not None and updated.outs["has_secret"] is True
