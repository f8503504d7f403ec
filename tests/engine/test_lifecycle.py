"""Our providers under Pulumi's own provider server, driven as the engine drives them.

Each test is a story a user lives (up, preview, refresh after drift, update, replace,
destroy), replayed as the engine's gRPC calls against ``python -m pulumi.dynamic`` started
from the project folder with the project's venv, with ``__provider`` blobs made by the SDK
from the real resource classes. The sandbox counts the HTTP requests each story costs.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import dill
import pulumi
import pytest
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.runtime import rpc

from providers.ilert_alert_source import IlertAlertSource, IlertAlertSourceProvider
from providers.level_webhook import LevelWebhook, LevelWebhookProvider
from providers.pickling import sdk_pickler_restored
from providers.provider_base import ConfiguredProvider
from sandbox import ILERT_TOKEN, LEVEL_API_KEY, Sandbox
from tools.engine_harness import (
    PROVIDER_KEY,
    UNKNOWN,
    ProviderError,
    ProviderServer,
    capture_registrations,
    dynamic_type,
    serialize_provider_like_sdk,
)

pytestmark = pytest.mark.timeout(120)

SOURCE_TYPE = dynamic_type("ilert", "AlertSource")
WEBHOOK_TYPE = dynamic_type("level", "Webhook")
SECRET_KEYS = ("ilert:apiToken", "level:apiKey")


def program_inputs(build: Any) -> dict[str, Any]:
    """What the engine receives from the program for one resource (secrets stripped)."""
    (registration,) = capture_registrations(build)
    return registration.plain_inputs


SOURCE_INPUTS = program_inputs(
    lambda: IlertAlertSource("acme", name="Level - Acme", escalation_policy="Default")
)
WEBHOOK_INPUTS = program_inputs(lambda: LevelWebhook("acme", url="https://replaced.invalid"))


@dataclass
class Resource:
    """One resource as the engine keeps it in state."""

    urn: str
    inputs: dict[str, Any]
    id: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def server(sandbox: Sandbox) -> Iterator[ProviderServer]:
    config = {
        "ilert:apiToken": ILERT_TOKEN,
        "ilert:baseUrl": sandbox.ilert_url,
        "level:apiKey": LEVEL_API_KEY,
        "level:baseUrl": sandbox.level_url,
        "level-ilert:integrations": '[{"name": "Level - Acme", "escalationPolicy": "Default"}]',
    }
    with ProviderServer(env={"ILERT_API_TOKEN": "", "LEVEL_API_KEY": ""}) as running:
        running.configure(config, secret_keys=SECRET_KEYS)
        yield running


def up_source(server: ProviderServer, **changes: Any) -> Resource:
    """Check then Create, as `pulumi up` does for a new resource."""
    source = Resource(server.urn(SOURCE_TYPE, "acme"), {**SOURCE_INPUTS, **changes})
    checked = server.check(source.urn, {}, source.inputs)
    assert checked.failures == []
    source.inputs = checked.inputs
    source.id, source.outputs = server.create(source.urn, source.inputs)
    return source


def up_webhook(server: ProviderServer, url: str, **changes: Any) -> Resource:
    webhook = Resource(server.urn(WEBHOOK_TYPE, "acme"), {**WEBHOOK_INPUTS, "url": url, **changes})
    checked = server.check(webhook.urn, {}, webhook.inputs)
    assert checked.failures == []
    webhook.inputs = checked.inputs
    webhook.id, webhook.outputs = server.create(webhook.urn, webhook.inputs)
    return webhook


def up(server: ProviderServer) -> tuple[Resource, Resource]:
    source = up_source(server)
    return source, up_webhook(server, source.outputs["integration_url"])


def refresh(server: ProviderServer, resource: Resource) -> tuple[str, Any]:
    """Read as refresh does (a command of its own: a new provider process), then
    Diff(refreshed outputs, program inputs) as preview does."""
    server.new_command()
    new_id, outputs, inputs = server.read(
        resource.urn, resource.id, resource.outputs, resource.inputs
    )
    if not new_id:
        return "gone", None
    assert inputs is not None, "read must return inputs, or refresh cannot show drift"
    resource.outputs = outputs
    diff = server.diff(resource.urn, resource.id, outputs, resource.inputs)
    return diff.changes, inputs


def test_up_creates_the_source_then_the_webhook_with_its_url(
    server: ProviderServer, sandbox: Sandbox
) -> None:
    source, webhook = up(server)

    # ilert: the policy by name, the sources (none to adopt or refuse), one POST.
    assert sandbox.count("ilert") == 3
    assert sandbox.count("ilert", "POST", "/api/alert-sources") == 1
    # Level: the webhooks (none to this URL yet), one POST.
    assert sandbox.count("level") == 2
    assert sandbox.count("level", "POST", "/v2/webhooks") == 1
    live_source = sandbox.ilert_alert_source(int(source.id))
    (live_webhook,) = sandbox.level_webhooks()
    assert live_webhook["url"] == live_source["integrationUrl"] == source.outputs["integration_url"]
    assert webhook.outputs["event_types"] == ["alert_active", "alert_resolved"]
    assert source.outputs[PROVIDER_KEY] == source.inputs[PROVIDER_KEY]


def test_preview_of_an_unchanged_stack_is_check_and_diff_only(
    server: ProviderServer, sandbox: Sandbox
) -> None:
    source, webhook = up(server)
    sandbox.requests.clear()

    for resource in (source, webhook):
        checked = server.check(resource.urn, resource.inputs, resource.inputs)
        diff = server.diff(resource.urn, resource.id, resource.outputs, checked.inputs)
        assert (diff.changes, diff.replaces) == ("DIFF_NONE", [])

    assert sandbox.count() == 0


def test_preview_before_the_source_exists_passes_check_with_an_unknown_url(
    server: ProviderServer, sandbox: Sandbox
) -> None:
    webhook = Resource(server.urn(WEBHOOK_TYPE, "acme"), {**WEBHOOK_INPUTS, "url": UNKNOWN})

    checked = server.check(webhook.urn, {}, webhook.inputs)

    assert checked.failures == []
    assert checked.inputs["event_types"] == ["alert_active", "alert_resolved"]
    assert sandbox.count() == 0


def test_preview_shows_a_pending_url_change_as_a_change(server: ProviderServer) -> None:
    _, webhook = up(server)

    checked = server.check(webhook.urn, webhook.inputs, {**webhook.inputs, "url": UNKNOWN})
    diff = server.diff(webhook.urn, webhook.id, webhook.outputs, checked.inputs)

    assert (diff.changes, diff.replaces) == ("DIFF_SOME", [])


@pytest.mark.parametrize(
    ("side", "drift"),
    [
        ("ilert", {"name": "Renamed in the UI"}),
        ("ilert", {"escalationPolicy": 2}),
        ("ilert", {"active": False}),
        ("ilert", {"eventFilter": "event.summary contains 'disk'"}),
        ("level", {"event_types": ["alert_active"]}),
        ("level", {"enabled": False}),
        ("level", {"url": "https://elsewhere.example/hook"}),
    ],
)
def test_refresh_after_drift_reads_it_and_diff_reports_it(
    server: ProviderServer, sandbox: Sandbox, side: str, drift: dict[str, Any]
) -> None:
    source, webhook = up(server)
    if side == "ilert":
        sandbox.ilert_edit_alert_source(int(source.id), **drift)
        resource = source
    else:
        sandbox.level_edit_webhook(webhook.id, **drift)
        resource = webhook
    sandbox.requests.clear()

    changes, inputs = refresh(server, resource)

    assert changes == "DIFF_SOME"
    # One listing page answers the read; ilert's listing has no eventFilter, so a source whose
    # updatedAt moved since the state was written is read once more with include=eventFilter.
    assert sandbox.count() == (2 if side == "ilert" else 1)
    ((key, value),) = drift.items()
    if key == "escalationPolicy":  # declared by name: refreshed as the live policy's name
        assert inputs["escalation_policy"] == "On-call L1"
        assert resource.outputs["escalation_policy_id"] == 2
    elif key == "url":  # read returns the live URL among the inputs, and as a secret
        assert rpc.is_rpc_secret(inputs[key])
        assert rpc.unwrap_rpc_secret(inputs[key]) == value
    else:
        assert inputs[{"eventFilter": "event_filter"}.get(key, key)] == value

    server.new_command()  # `make up` repairs it
    repaired = server.update(resource.urn, resource.id, resource.outputs, resource.inputs)
    # One PUT or PATCH (after the 2 or 1 of the refresh); the source's policy is declared by
    # name, which costs one lookup, and the new process reads the whole source once first:
    # the settings the inputs leave alone are sent back as ilert has them (issue 24).
    assert sandbox.count() == (5 if side == "ilert" else 2)
    assert server.diff(resource.urn, resource.id, repaired, resource.inputs).changes == "DIFF_NONE"


def test_refresh_after_an_out_of_band_delete_drops_the_resource(
    server: ProviderServer, sandbox: Sandbox
) -> None:
    source, webhook = up(server)
    sandbox.level_delete_webhook(webhook.id)
    sandbox.ilert_delete_alert_source(int(source.id))

    assert refresh(server, webhook) == ("gone", None)
    assert refresh(server, source) == ("gone", None)


@pytest.mark.parametrize(
    ("resource_kind", "change"),
    [
        ("source", {"name": "Level - Acme (renamed)"}),
        ("source", {"escalation_policy": 2}),
        ("webhook", {"event_types": ["alert_active", "alert_resolved", "device_deleted"]}),
        ("webhook", {"url": "https://api.ilert.com/api/v1/events/levelio/other"}),
    ],
)
def test_update_in_place(
    server: ProviderServer, sandbox: Sandbox, resource_kind: str, change: dict[str, Any]
) -> None:
    source, webhook = up(server)
    resource = source if resource_kind == "source" else webhook
    server.new_command()  # the next `up`
    sandbox.requests.clear()

    checked = server.check(resource.urn, resource.inputs, {**resource.inputs, **change})
    diff = server.diff(resource.urn, resource.id, resource.outputs, checked.inputs)
    assert (diff.changes, diff.replaces) == ("DIFF_SOME", [])
    outputs = server.update(resource.urn, resource.id, resource.outputs, checked.inputs)

    by_name = isinstance(checked.inputs.get("escalation_policy"), str)
    # A policy name costs one lookup; a source's update reads it whole first (what the
    # inputs leave alone is sent back as ilert has it).
    whole = 1 if resource_kind == "source" else 0
    assert sandbox.count() == (2 if by_name else 1) + whole
    for key, value in change.items():
        reported = outputs["escalation_policy_id"] if key == "escalation_policy" else outputs[key]
        assert reported == value
    if resource_kind == "source":
        assert sandbox.ilert_alert_source(int(source.id))["name"] == outputs["name"]
    else:
        assert sandbox.level_webhooks()[0]["url"] == outputs["url"]


def test_replace_creates_first_repoints_the_webhook_then_deletes_the_old_source(
    server: ProviderServer, sandbox: Sandbox
) -> None:
    old, webhook = up(server)

    def webhook_points_at_a_live_source() -> bool:
        (live,) = sandbox.level_webhooks()
        return any(s["integrationUrl"] == live["url"] for s in sandbox.ilert_alert_sources())

    checked = server.check(old.urn, old.inputs, {**old.inputs, "integration_type": "API"})
    diff = server.diff(old.urn, old.id, old.outputs, checked.inputs)
    assert (diff.changes, diff.replaces, diff.delete_before_replace) == (
        "DIFF_SOME", ["integration_type"], False,
    )
    server.new_command()  # the next `up`
    sandbox.requests.clear()

    new_id, new_outputs = server.create(old.urn, checked.inputs)  # 1. create the replacement
    assert webhook_points_at_a_live_source()
    new_url = new_outputs["integration_url"]
    assert new_url != old.outputs["integration_url"]
    moved = server.check(webhook.urn, webhook.inputs, {**webhook.inputs, "url": new_url})
    assert server.diff(webhook.urn, webhook.id, webhook.outputs, moved.inputs).replaces == []
    server.update(webhook.urn, webhook.id, webhook.outputs, moved.inputs)  # 2. re-point
    assert webhook_points_at_a_live_source()
    server.delete(old.urn, old.id, old.outputs)  # 3. delete the replaced source
    assert webhook_points_at_a_live_source()

    assert [s["id"] for s in sandbox.ilert_alert_sources()] == [int(new_id)]
    assert sandbox.level_webhooks()[0]["url"] == new_url
    # policy lookup + source look-up + POST, PATCH, DELETE
    assert sandbox.count() == 5


def test_destroy_deletes_the_webhook_before_the_source(
    server: ProviderServer, sandbox: Sandbox
) -> None:
    source, webhook = up(server)
    sandbox.requests.clear()

    server.delete(webhook.urn, webhook.id, webhook.outputs)
    server.delete(source.urn, source.id, source.outputs)

    assert [(r.service, r.method) for r in sandbox.requests] == [
        ("level", "DELETE"), ("ilert", "DELETE"),
    ]
    assert sandbox.level_webhooks() == []
    assert sandbox.ilert_alert_sources() == []
    server.delete(webhook.urn, webhook.id, webhook.outputs)  # a second destroy is harmless
    server.delete(source.urn, source.id, source.outputs)


# Stack config as a real environment has it: credentials that look like real ones.
REAL_LOOKING_CONFIG = {
    "ilert:apiToken": "il1api7c4f9e2b7d5a18e6f3c2b9a7d4e1f0c8",
    "ilert:baseUrl": "https://api.eu.ilert.com",
    "level:apiKey": "lvk_live_Zt7Qm2Xp9Rb4Wn6Ks1Hd8Jf3",
    "level:baseUrl": "https://api.level.io",
    "ilert:operationTimeoutSeconds": "75",
}


@pytest.mark.parametrize(
    ("provider_class", "inputs"),
    [(IlertAlertSourceProvider, SOURCE_INPUTS), (LevelWebhookProvider, WEBHOOK_INPUTS)],
)
def test_provider_blob_is_a_small_reference_without_secrets(
    provider_class: type[ConfiguredProvider], inputs: dict[str, Any]
) -> None:
    """The ``__provider`` blob in state holds the class, never the config it was given: a
    provider configured with real-looking credentials pickles to the very blob the program
    registers, and unpickles unconfigured (the provider process configures it itself)."""
    provider = provider_class()
    provider.configure(ConfigureRequest(Config(REAL_LOOKING_CONFIG, "level-ilert")))
    assert "ilert:apiToken" in repr(provider)  # configured indeed

    with sdk_pickler_restored():
        blob = serialize_provider_like_sdk(provider)
    raw = base64.b64decode(blob)

    assert blob == inputs[PROVIDER_KEY]
    assert len(raw) < 500
    assert provider_class.__module__.encode() in raw
    for value in (*REAL_LOOKING_CONFIG.values(), ILERT_TOKEN, LEVEL_API_KEY, "http"):
        assert value.encode() not in raw
    restored = dill.loads(raw)
    assert type(restored) is provider_class
    assert repr(restored) == f"{provider_class.__name__}(configured keys: none)"


def test_no_credential_in_any_response_or_log_line(
    server: ProviderServer, sandbox: Sandbox
) -> None:
    source, webhook = up(server)
    responses = [source.outputs, webhook.outputs]
    responses.append(server.read(source.urn, source.id, source.outputs, source.inputs)[1])
    responses.append(server.read(webhook.urn, webhook.id, webhook.outputs, webhook.inputs)[1])
    server.stop()

    text = repr(responses) + server.logs
    assert ILERT_TOKEN not in text
    assert LEVEL_API_KEY not in text


def test_the_write_only_webhook_secret_comes_back_from_read_marked_secret(
    server: ProviderServer, sandbox: Sandbox
) -> None:
    source = up_source(server)
    webhook = up_webhook(server, source.outputs["integration_url"], secret="hmac-key-77")

    _, outputs, inputs = server.read(webhook.urn, webhook.id, webhook.outputs, webhook.inputs)

    assert outputs["has_secret"] is True
    assert inputs is not None
    assert rpc.is_rpc_secret(inputs["secret"])
    assert rpc.unwrap_rpc_secret(inputs["secret"]) == "hmac-key-77"
    # Outputs are marked by the engine: `secret` is in additional_secret_outputs (test below).
    server.stop()
    assert "hmac-key-77" not in server.logs


def test_generated_key_and_url_are_declared_secret_outputs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, list[str]] = {}
    original = pulumi.CustomResource.__init__

    def spy(self: pulumi.CustomResource, t: str, name: str, props: Any = None,
            opts: pulumi.ResourceOptions | None = None, *args: Any, **kwargs: Any) -> None:
        seen[t] = list((opts.additional_secret_outputs or []) if opts else [])
        original(self, t, name, props, opts, *args, **kwargs)

    monkeypatch.setattr(pulumi.CustomResource, "__init__", spy)
    capture_registrations(lambda: IlertAlertSource("a", name="x", escalation_policy=1))
    capture_registrations(lambda: LevelWebhook("a", url="https://x.invalid"))

    assert set(seen[SOURCE_TYPE]) >= {"integration_key", "integration_url"}
    assert set(seen[WEBHOOK_TYPE]) >= {"url", "secret"}


def test_a_401_names_the_cause_and_never_the_token(sandbox: Sandbox) -> None:
    wrong = "wrong-token-0042"
    with ProviderServer(env={"ILERT_API_TOKEN": ""}) as server:
        server.configure(
            {"ilert:apiToken": wrong, "ilert:baseUrl": sandbox.ilert_url},
            secret_keys=["ilert:apiToken"],
        )
        source = Resource(
            server.urn(SOURCE_TYPE, "acme"), {**SOURCE_INPUTS, "escalation_policy": 1}
        )
        with pytest.raises(ProviderError, match="HTTP 401") as caught:
            server.create(source.urn, source.inputs)
        server.stop()

    assert "HTTP 401" in caught.value.details
    assert "ilert:apiToken" in caught.value.details
    assert wrong not in caught.value.details
    assert wrong not in server.logs


def test_a_400_names_the_field_ilert_rejected(server: ProviderServer, sandbox: Sandbox) -> None:
    source = Resource(server.urn(SOURCE_TYPE, "acme"), {**SOURCE_INPUTS, "escalation_policy": 999})

    with pytest.raises(ProviderError, match="HTTP 400") as caught:
        server.create(source.urn, source.inputs)

    assert "HTTP 400" in caught.value.details
    assert "escalationPolicy" in caught.value.details
    assert ILERT_TOKEN not in caught.value.details


def test_a_missing_credential_names_config_and_env(sandbox: Sandbox) -> None:
    with ProviderServer(env={"LEVEL_API_KEY": ""}) as server:
        server.configure({"level:baseUrl": sandbox.level_url})
        webhook = Resource(server.urn(WEBHOOK_TYPE, "acme"), {**WEBHOOK_INPUTS})
        with pytest.raises(
            ProviderError, match="pulumi config set --secret level:apiKey"
        ) as caught:
            server.create(webhook.urn, webhook.inputs)

    assert "pulumi config set --secret level:apiKey" in caught.value.details
    assert "LEVEL_API_KEY" in caught.value.details
    assert sandbox.count() == 0


def test_a_scope_changed_by_hand_is_drift_and_a_deleted_group_empties_it(
    server: ProviderServer, sandbox: Sandbox
) -> None:
    """Routing through the engine: the webhook's device groups are refreshed in the form
    they were declared, so a scope widened in Level shows as drift, and a deleted group
    leaves an emptied scope (delivering nothing) that the next `up` refuses to guess at."""
    source = up_source(server, event_filter="event.customDetails.severity != 'emergency'")
    webhook = up_webhook(server, source.outputs["integration_url"], device_groups=["Acme Corp"])
    acme, globex = sandbox.level_group_id("Acme Corp"), sandbox.level_group_id("Globex")
    assert webhook.outputs["group_ids"] == [acme]
    assert refresh(server, webhook)[0] == "DIFF_NONE"
    assert refresh(server, source)[0] == "DIFF_NONE"

    sandbox.level_edit_webhook(webhook.id, group_ids=[acme, globex])
    changes, inputs = refresh(server, webhook)
    assert (changes, inputs["device_groups"]) == ("DIFF_SOME", ["Acme Corp", "Globex"])
    server.new_command()
    repaired = server.update(webhook.urn, webhook.id, webhook.outputs, webhook.inputs)
    assert repaired["group_ids"] == [acme]

    webhook.outputs = repaired
    sandbox.level_delete_group(sandbox.level_group_id("Acme Corp/Warehouse"))
    sandbox.level_delete_group(sandbox.level_group_id("Acme Corp/HQ"))
    sandbox.level_delete_group(acme)
    changes, inputs = refresh(server, webhook)
    assert (changes, inputs["device_groups"], webhook.outputs["group_ids"]) == (
        "DIFF_SOME", [], []
    )
    server.new_command()
    with pytest.raises(ProviderError, match="'Acme Corp' matches no Level group"):
        server.update(webhook.urn, webhook.id, webhook.outputs, webhook.inputs)


def test_adopting_a_scoped_webhook_made_by_hand_puts_the_declared_scope_on(
    server: ProviderServer, sandbox: Sandbox
) -> None:
    source = up_source(server)
    url = source.outputs["integration_url"]
    by_hand = sandbox.level.create_webhook(
        {"url": url, "group_ids": [sandbox.level_group_id("Globex")]}
    )
    webhook = up_webhook(server, url, adopt=True, device_groups=["Acme Corp"])
    assert webhook.id == by_hand["id"]
    (live,) = sandbox.level_webhooks()
    assert live["group_ids"] == [sandbox.level_group_id("Acme Corp")]
    assert refresh(server, webhook)[0] == "DIFF_NONE"
