"""The stack program (`__main__.py`) under Pulumi mocks that run the real providers.

The mocks play the engine of `pulumi up`: for each dynamic resource they unpickle the
provider from its ``__provider`` input, configure it with the stack config, and run its real
``check`` and ``create`` against the sandbox. So the URL really flows from the ilert alert
source into the Level webhook, and Level's "Test the integration" step can be automated.
"""

from __future__ import annotations

import base64
import functools
import json
import runpy
from pathlib import Path
from typing import Any

import dill
import pulumi
import pytest
from pulumi.dynamic import Config, ConfigureRequest, ResourceProvider
from pulumi.runtime.mocks import MockResourceArgs

from components.level_ilert_integration import (
    LevelIlertIntegration,
    LevelIlertIntegrationArgs,
    setup_instructions,
)
from components.settings import Integration
from providers.ilert_alert_source import IlertAlertSource
from providers.level_webhook import LevelWebhook
from sandbox import ILERT_TOKEN, LEVEL_API_KEY, Sandbox
from sandbox.ilert_service import INCLUDE_ONLY_FIELDS
from tools.engine_harness import PROVIDER_KEY, CapturingMocks, capture_registrations, strip_secrets

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "__main__.py"
ALERT_SOURCE = "pulumi-python:dynamic/ilert:AlertSource"
WEBHOOK = "pulumi-python:dynamic/level:Webhook"
COMPONENT = "level-ilert:index:LevelIlertIntegration"


class ProvidersAgainstSandbox(CapturingMocks):
    """Answers each dynamic resource registration with its real provider's check + create."""

    def __init__(self, config: dict[str, str]) -> None:
        super().__init__()
        self.config = config
        self.created: dict[str, tuple[str, dict[str, Any]]] = {}

    def outputs_for(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        if not args.typ.startswith("pulumi-python:dynamic"):
            return f"{args.name}-component", {}
        inputs = strip_secrets(dict(args.inputs))
        provider: ResourceProvider = dill.loads(base64.b64decode(inputs[PROVIDER_KEY]))
        provider.configure(ConfigureRequest(Config(self.config, "level-ilert")))
        checked = provider.check({}, inputs)
        if checked.failures:
            raise ValueError([(f.property, f.reason) for f in checked.failures])
        result = provider.create(checked.inputs)
        outputs = dict(result.outs or {})
        self.created[f"{args.typ}::{args.name}"] = (result.id, outputs)
        return result.id, outputs


def stack_config(
    sandbox: Sandbox, integrations: list[dict[str, Any]], **extra: str
) -> dict[str, str]:
    """The stack config as the engine hands it over: namespaced keys, string values.

    Manual mode has no Level settings: it refuses them, since it never calls Level.
    """
    level = {"level:apiKey": LEVEL_API_KEY, "level:baseUrl": sandbox.level_url}
    return {
        "ilert:apiToken": ILERT_TOKEN,
        "ilert:baseUrl": sandbox.ilert_url,
        **({} if extra.get("level:webhookManagement") == "manual" else level),
        "level-ilert:integrations": json.dumps(integrations),
        **extra,
    }


def run_program(
    config: dict[str, str], mocks: CapturingMocks | None = None, *, preview: bool = False
) -> tuple[dict[str, Any], CapturingMocks]:
    """Run `__main__.py` with this config under mocks (as `pulumi up`'s update phase, or
    with ``preview`` as a dry run); returns its globals and the mocks."""
    mocks = mocks or CapturingMocks()
    namespace: dict[str, Any] = {}

    def program() -> None:
        pulumi.runtime.set_all_config(config)
        namespace.update(runpy.run_path(str(PROGRAM)))

    capture_registrations(program, mocks=mocks, stack="sandbox", preview=preview)
    return namespace, mocks


ACME = {"name": "Level - Acme", "escalationPolicy": "On-call L1"}


def test_up_wires_the_webhook_to_the_alert_sources_url(sandbox: Sandbox) -> None:
    config = stack_config(sandbox, [ACME])

    _, mocks = run_program(config, ProvidersAgainstSandbox(config))

    (source,) = sandbox.ilert_alert_sources()
    (webhook,) = sandbox.level_webhooks()
    assert source["integrationType"] == "LEVELIO"
    assert source["escalationPolicy"]["name"] == "On-call L1"
    assert source["setupStatus"] == "FINISHED"
    assert webhook["url"] == source["integrationUrl"]
    assert webhook["event_types"] == ["alert_active", "alert_resolved"]
    assert webhook["enabled"] is True
    types = [r.typ for r in mocks.registrations]
    assert types.index(ALERT_SOURCE) < types.index(WEBHOOK)
    assert COMPONENT in types


def test_level_alert_opens_and_closes_the_ilert_alert(sandbox: Sandbox) -> None:
    """Level's "Test the integration" step, automated against the sandbox."""
    config = stack_config(sandbox, [ACME])
    run_program(config, ProvidersAgainstSandbox(config))
    (source,) = sandbox.ilert_alert_sources()

    raised = sandbox.raise_level_alert(device_hostname="WS-042", name="CPU usage")

    (opened,) = sandbox.ilert_alerts(source_id=source["id"])
    assert (opened["status"], opened["alertKey"]) == ("PENDING", raised["id"])

    sandbox.resolve_level_alert(raised["id"])

    (closed,) = sandbox.ilert_alerts(source_id=source["id"])
    assert (closed["id"], closed["status"]) == (opened["id"], "RESOLVED")


def test_two_integrations_route_to_their_own_escalation_policies(sandbox: Sandbox) -> None:
    config = stack_config(
        sandbox,
        [
            {**ACME, "deviceGroups": ["Acme Corp"]},
            {"name": "Level - Servers", "escalationPolicy": 1, "teams": [2],
             "eventFilter": "event.customDetails.severity == 'emergency'",
             "deviceGroups": ["Globex"]},
        ],
    )

    run_program(config, ProvidersAgainstSandbox(config))

    sources = {s["name"]: s for s in sandbox.ilert_alert_sources()}
    assert sources["Level - Acme"]["escalationPolicy"]["id"] == 2
    assert sources["Level - Servers"]["escalationPolicy"]["id"] == 1
    assert [t["id"] for t in sources["Level - Servers"]["teams"]] == [2]
    assert sources["Level - Servers"]["eventFilter"] == (
        "event.customDetails.severity == 'emergency'"
    )
    assert "eventFilter" not in sources["Level - Acme"]
    scopes = {w["url"]: w["group_ids"] for w in sandbox.level_webhooks()}
    assert scopes == {
        sources["Level - Acme"]["integrationUrl"]: [sandbox.level_group_id("Acme Corp")],
        sources["Level - Servers"]["integrationUrl"]: [sandbox.level_group_id("Globex")],
    }


def test_two_org_wide_unfiltered_integrations_fail_the_preview_naming_both(
    sandbox: Sandbox,
) -> None:
    config = stack_config(sandbox, [ACME, {"name": "Level - Servers", "escalationPolicy": 1}])
    mocks = ProvidersAgainstSandbox(config)

    with pytest.raises(pulumi.RunError, match="would page for the same Level alert") as caught:
        run_program(config, mocks)

    message = str(caught.value)
    assert message.startswith("Two integrations would page for the same Level alert:\n- ")
    assert (
        "level-ilert:integrations[0] ('Level - Acme') and level-ilert:integrations[1] "
        "('Level - Servers') would both open an ilert alert for the same Level alert: both are "
        "org-wide (no deviceGroups), and neither has an eventFilter."
    ) in message
    assert "Either scope or filter them apart" in message
    assert "sharesAlertsWith: ['Level - Servers'] on level-ilert:integrations[0]" in message
    assert mocks.registrations == []  # nothing was registered, let alone created
    assert sandbox.ilert_alert_sources() == []


def test_manual_mode_steps_say_which_groups_to_tick(sandbox: Sandbox) -> None:
    integration = Integration.parse({**ACME, "deviceGroups": ["Acme Corp", "Globex"]})
    steps = setup_instructions(
        "level-acme",
        source_name=integration.name,
        event_types=integration.event_types,
        enabled=integration.webhook_enabled,
        device_groups=integration.device_groups,
        has_secret=integration.webhook_secret is not None,
    )
    assert "  6. Scope it to device groups: tick only 'Acme Corp', 'Globex' (the groups below" in (
        steps
    )
    assert "Level's webhook settings pages document no group scope" in steps
    assert "  7. Leave Enabled on and save." in steps
    assert "  8. Test: raise a test alert" in steps


def test_manual_mode_calls_no_level_api_and_outputs_the_ui_steps(sandbox: Sandbox) -> None:
    config = stack_config(sandbox, [ACME], **{"level:webhookManagement": "manual"})
    mocks = ProvidersAgainstSandbox(config)
    steps: list[str] = []
    namespace: dict[str, Any] = {}

    def program() -> None:
        pulumi.runtime.set_all_config(config)
        namespace.update(runpy.run_path(str(PROGRAM)))
        namespace["wiring"].setup_instructions.apply(steps.append)

    capture_registrations(program, mocks=mocks, stack="sandbox")

    wiring = namespace["wiring"]
    assert wiring.webhook is None
    # Resolved by the time the program has run; `_data` is the only synchronous view of it.
    assert wiring.integration_url._data.result().is_secret is True

    assert sandbox.count("level") == 0
    assert [r.typ for r in mocks.registrations if r.typ == WEBHOOK] == []
    assert len(sandbox.ilert_alert_sources()) == 1
    (text,) = steps
    assert "Settings > Webhooks" in text
    assert '"Alert active" and "Alert resolved"' in text
    assert "  1. Copy the ilert webhook URL: make outputs STACK=sandbox SHOW_SECRETS=1\n" in text


def test_the_url_reaches_the_webhook_as_a_secret(sandbox: Sandbox) -> None:
    config = stack_config(sandbox, [ACME])

    _, mocks = run_program(config, ProvidersAgainstSandbox(config))

    (webhook,) = [r for r in mocks.registrations if r.typ == WEBHOOK]
    assert webhook.inputs["url"] != webhook.plain_inputs["url"]  # wrapped as a secret
    assert webhook.plain_inputs["url"].startswith(sandbox.ilert_url)


def test_a_config_error_stops_before_any_resource(sandbox: Sandbox) -> None:
    config = stack_config(
        sandbox, [{"name": "x", "escalationPolicy": 1, "eventTypes": ["alert_active"]}]
    )
    mocks = ProvidersAgainstSandbox(config)

    with pytest.raises(
        pulumi.RunError, match=r"level-ilert:integrations\[0\]\.eventTypes"
    ) as caught:
        run_program(config, mocks)

    assert "level-ilert:integrations[0].eventTypes" in str(caught.value)
    assert "one-way sync" in str(caught.value)
    assert [r for r in mocks.registrations if r.typ != "pulumi:pulumi:Stack"] == []
    assert sandbox.count() == 0


def test_missing_integrations_key_names_it(sandbox: Sandbox) -> None:
    config = stack_config(sandbox, [])
    del config["level-ilert:integrations"]

    with pytest.raises(pulumi.RunError, match="level-ilert:integrations is not set"):
        run_program(config)


# -- every key of the stack file, traced to what the APIs receive and what the stack exports ----
EVERY_KEY = {
    "name": "Level - Servers",
    "resourceName": "servers",
    "escalationPolicy": "On-call L1",
    "alertCreation": "INTELLIGENT_GROUPING",
    "alertGroupingWindow": "PT15M",
    "scoreThreshold": 0.75,
    "alertPriorityRule": "LOW_DURING_SUPPORT_HOURS",
    "supportHours": "US business hours",
    "autoRaiseAlerts": True,
    "autoResolutionTimeout": "PT4H",
    "teams": [2, 1],
    "active": False,
    "eventTypeFilterCreate": "event.customDetails.severity != 'information'",
    "eventTypeFilterAccept": "event.summary != nil",
    "eventTypeFilterResolve": "event.customDetails.is_resolved == true",
    "summaryTemplate": "{{ data.name }} on {{ data.device_hostname }}",
    "detailsTemplate": "{{ data.description }}",
    "routingTemplate": "{{ data.device_hostname.lowerCase() }}",
    "alertKeyTemplate": "{{ data.id }}",
    "linkTemplates": [
        {"text": "Open in Level", "href": "https://app.level.io/{{ data.device_id }}"},
    ],
    "priorityTemplate": {"valueTemplate": "{{ data.severity }}",
                         "mappings": [{"value": "emergency", "priority": "HIGH"}]},
    "severityTemplate": {"valueTemplate": "{{ data.severity }}",
                         "mappings": [{"value": "warning", "severity": 4}]},
    "severity": 2,
    "services": ["Backups", 3],
    "servicesTemplate": ["{{ data.name }}"],
    "autoCreateServices": True,
    "eventTypes": ["alert_resolved", "device_created", "alert_active"],
    "webhookEnabled": False,
    "webhookSecret": "whsec-program-7731",
}


def run_with_exports(
    config: dict[str, str], mocks: CapturingMocks
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run `__main__.py`; its globals and the stack outputs it exports (resolved values)."""
    namespace: dict[str, Any] = {}
    exported: dict[str, Any] = {}

    def program() -> None:
        pulumi.runtime.set_all_config(config)
        namespace.update(runpy.run_path(str(PROGRAM)))
        stack = pulumi.runtime.get_root_resource()
        for name, value in getattr(stack, "outputs", {}).items():
            pulumi.Output.from_input(value).apply(functools.partial(exported.__setitem__, name))

    capture_registrations(program, mocks=mocks, stack="sandbox")
    return namespace, exported


def stored_webhook_secret(sandbox: Sandbox) -> str | None:
    """The secret fake Level stored from the body it received (its API never returns it)."""
    with sandbox.world.read() as state:
        (record,) = state.webhooks.values()
        return record.secret


def test_every_integration_key_reaches_the_body_each_api_receives(sandbox: Sandbox) -> None:
    config = stack_config(sandbox, [EVERY_KEY])
    mocks = ProvidersAgainstSandbox(config)

    _, exported = run_with_exports(config, mocks)

    (listed,) = sandbox.ilert_alert_sources()
    source = sandbox.ilert.get_alert_source(
        listed["id"], [*INCLUDE_ONLY_FIELDS, "textTemplate"]  # templates as ilert writes them
    )
    assert source["name"] == "Level - Servers"
    assert source["escalationPolicy"]["id"] == 2  # "On-call L1", resolved by name
    assert source["alertCreation"] == "INTELLIGENT_GROUPING"
    assert source["alertGroupingWindow"] == "PT15M"
    assert source["scoreThreshold"] == 0.75
    assert source["alertPriorityRule"] == "LOW_DURING_SUPPORT_HOURS"
    assert source["supportHours"]["name"] == "US business hours"
    assert source["autoRaiseAlerts"] is True
    assert source["autoResolutionTimeout"] == "PT4H"
    assert sorted(team["id"] for team in source["teams"]) == [1, 2]
    assert source["active"] is False
    assert (source["severity"], source["autoCreateServices"]) == (2, True)
    assert [service["name"] for service in source["services"]] == ["Backups", "Network"]
    assert {key: value for key, value in source.items() if key.endswith(("Template", "Templates"))
            or key.startswith("eventTypeFilter")} == {
        "eventTypeFilterCreate": EVERY_KEY["eventTypeFilterCreate"],
        "eventTypeFilterAccept": EVERY_KEY["eventTypeFilterAccept"],
        "eventTypeFilterResolve": EVERY_KEY["eventTypeFilterResolve"],
        "summaryTemplate": {"textTemplate": "{{data.name}} on {{data.device_hostname}}"},
        "detailsTemplate": {"textTemplate": "{{data.description}}"},
        "routingTemplate": {"textTemplate": "{{data.device_hostname.lowerCase()}}"},
        "alertKeyTemplate": {"textTemplate": "{{data.id}}"},
        "linkTemplates": [{"text": "Open in Level",
                           "hrefTemplate": {"textTemplate": "https://app.level.io/{{data.device_id}}"}}],
        "priorityTemplate": {"valueTemplate": {"textTemplate": "{{data.severity}}"},
                             "mappings": [{"value": "emergency", "priority": "HIGH"}]},
        "severityTemplate": {"valueTemplate": {"textTemplate": "{{data.severity}}"},
                             "mappings": [{"value": "warning", "severity": 4}]},
        "servicesTemplate": [{"textTemplate": "{{data.name}}"}],
    }
    (webhook,) = sandbox.level_webhooks()
    assert webhook["url"] == source["integrationUrl"]
    assert webhook["enabled"] is False
    assert sorted(webhook["event_types"]) == ["alert_active", "alert_resolved", "device_created"]
    assert webhook["has_secret"] is True
    assert stored_webhook_secret(sandbox) == "whsec-program-7731"
    # resourceName names the resources and the stack output; the secret travels as a secret.
    (registered,) = [r for r in mocks.registrations if r.typ == WEBHOOK]
    assert registered.name == "servers"
    assert registered.inputs["secret"] != registered.plain_inputs["secret"]
    assert set(exported) == {"servers"}
    assert exported["servers"] == {
        "alertSourceId": str(source["id"]),
        "webhookId": webhook["id"],
        "integrationUrl": source["integrationUrl"],
    }


def test_the_stack_exports_the_ids_and_the_url_as_a_secret(sandbox: Sandbox) -> None:
    config = stack_config(sandbox, [ACME])

    namespace, exported = run_with_exports(config, ProvidersAgainstSandbox(config))

    (source,) = sandbox.ilert_alert_sources()
    (webhook,) = sandbox.level_webhooks()
    assert exported == {
        "level-acme": {
            "alertSourceId": str(source["id"]),
            "webhookId": webhook["id"],
            "integrationUrl": source["integrationUrl"],
        }
    }
    url = namespace["wiring"].exports()["integrationUrl"]
    assert url._data.result().is_secret is True  # the only synchronous view of an Output


def test_adopt_takes_over_the_source_and_webhook_that_exist(sandbox: Sandbox) -> None:
    """adopt: the existing source gets the declared settings (one PUT), keeps its id and URL;
    the webhook to that URL is taken over too. Nothing is created."""
    before = sandbox.ilert.create_alert_source(
        {
            "name": "Level - Acme", "integrationType": "LEVELIO",
            "escalationPolicy": {"id": 1}, "alertPriorityRule": "HIGH",
        }
    )
    hook = sandbox.level.create_webhook(
        {"url": before["integrationUrl"], "enabled": False, "event_types": ["alert_active"]}
    )
    config = stack_config(
        sandbox,
        [{**ACME, "adopt": True, "alertPriorityRule": "LOW", "webhookSecret": "whsec-adopted"}],
    )

    _, exported = run_with_exports(config, ProvidersAgainstSandbox(config))

    (source,) = sandbox.ilert_alert_sources()
    assert (source["id"], source["integrationUrl"]) == (before["id"], before["integrationUrl"])
    assert (source["escalationPolicy"]["id"], source["alertPriorityRule"]) == (2, "LOW")
    assert sandbox.count("ilert", "PUT", f"/api/alert-sources/{before['id']}") == 1
    assert sandbox.count("ilert", "POST") == 0
    (webhook,) = sandbox.level_webhooks()
    assert webhook["id"] == hook["id"]
    assert webhook["enabled"] is True
    assert sorted(webhook["event_types"]) == ["alert_active", "alert_resolved"]
    assert stored_webhook_secret(sandbox) == "whsec-adopted"
    assert sandbox.count("level", "POST") == 0
    assert exported["level-acme"]["webhookId"] == hook["id"]


def test_without_adopt_an_existing_source_stops_the_up_naming_adopt(sandbox: Sandbox) -> None:
    sandbox.ilert.create_alert_source(
        {"name": "Level - Acme", "integrationType": "LEVELIO", "escalationPolicy": {"id": 1}}
    )
    config = stack_config(sandbox, [ACME])

    with pytest.raises(Exception, match="adopt: true") as caught:
        run_program(config, ProvidersAgainstSandbox(config))

    assert "ilert already has an alert source named 'Level - Acme'" in str(caught.value)
    assert len(sandbox.ilert_alert_sources()) == 1
    assert sandbox.count("ilert", "POST") == 0
    assert sandbox.level_webhooks() == []


MANUAL_STEPS = """\
Level webhook for ilert alert source 'Level - Acme' (manual mode):
  1. Copy the ilert webhook URL: make outputs STACK=sandbox SHOW_SECRETS=1
     (level-acme's integrationUrl; copy it exactly, without spaces).
  2. In Level, open Settings > Webhooks and click + Add webhook.
  3. Paste the URL as the endpoint.
  4. {secret_step}
  5. Under Events to send, choose Select types to send and tick "Alert active" and "Alert resolved"
     (both: Alert active opens the ilert alert, Alert resolved closes it).
  6. Leave Enabled {enabled} and save.
  7. Test: raise a test alert on a device; it must appear in ilert under this alert
     source, and resolving it in Level must resolve it in ilert. If nothing arrives,
     check the URL, both events, that the alert source is active, and the webhook's
     Requests tab (delivery log) in Level.
  8. Check it: make verify STACK=sandbox waits for your test alert to open and
     resolve in ilert; make audit STACK=sandbox later checks every Level alert meant for it."""


@pytest.mark.parametrize(
    ("secret", "enabled", "secret_step"),
    [
        ("whsec-1", True, "Enter the webhook secret from your stack config (webhookSecret) in "
                          "Secret."),
        (None, True, "Leave Secret empty (no webhookSecret is configured)."),
        ("whsec-2", False, "Enter the webhook secret from your stack config (webhookSecret) in "
                           "Secret."),
        (None, False, "Leave Secret empty (no webhookSecret is configured)."),
    ],
)
def test_manual_mode_steps_follow_the_secret_and_enabled_settings(
    sandbox: Sandbox, secret: str | None, enabled: bool, secret_step: str
) -> None:
    integration: dict[str, Any] = {**ACME, "webhookEnabled": enabled}
    if secret:
        integration["webhookSecret"] = secret
    config = stack_config(sandbox, [integration], **{"level:webhookManagement": "manual"})

    _, exported = run_with_exports(config, ProvidersAgainstSandbox(config))

    outputs = exported["level-acme"]
    assert set(outputs) == {"alertSourceId", "integrationUrl", "setupInstructions"}
    assert outputs["setupInstructions"] == MANUAL_STEPS.format(
        secret_step=secret_step, enabled="on" if enabled else "off"
    )  # the secret step names the config key, never the secret itself
    assert sandbox.count("level") == 0


def test_the_resources_nest_under_their_integration(sandbox: Sandbox) -> None:
    """`pulumi stack` shows each source and webhook under its LevelIlertIntegration."""
    config = stack_config(sandbox, [ACME])
    urns: dict[str, str] = {}

    def program() -> None:
        pulumi.runtime.set_all_config(config)
        wiring = runpy.run_path(str(PROGRAM))["wiring"]
        for key, resource in (("component", wiring), ("source", wiring.alert_source),
                              ("webhook", wiring.webhook)):
            resource.urn.apply(functools.partial(urns.__setitem__, key))

    capture_registrations(program, mocks=ProvidersAgainstSandbox(config), stack="sandbox")

    prefix = "urn:pulumi:sandbox::level-ilert::"
    assert urns == {
        "component": f"{prefix}pulumi:pulumi:Stack${COMPONENT}::level-acme",
        "source": f"{prefix}{COMPONENT}${ALERT_SOURCE}::level-acme",
        "webhook": f"{prefix}{COMPONENT}${WEBHOOK}::level-acme",
    }


def test_the_component_used_directly_manages_the_webhook_and_honours_its_options(
    sandbox: Sandbox,
) -> None:
    """LevelIlertIntegration(name, args, opts) as a program of one's own would use it."""
    config = stack_config(sandbox, [])
    urns: list[str] = []

    def program() -> None:
        pulumi.runtime.set_all_config(config)
        group = pulumi.ComponentResource("acme:index:Integrations", "all")
        wiring = LevelIlertIntegration(
            "acme",
            LevelIlertIntegrationArgs(name="Level - Acme", escalation_policy="On-call L1"),
            pulumi.ResourceOptions(parent=group),
        )
        assert wiring.webhook is not None and wiring.setup_instructions is None
        wiring.urn.apply(urns.append)

    capture_registrations(program, mocks=ProvidersAgainstSandbox(config), stack="sandbox")

    assert urns == [
        f"urn:pulumi:sandbox::level-ilert::acme:index:Integrations${COMPONENT}::acme"
    ]
    (webhook,) = sandbox.level_webhooks()
    assert webhook["url"] == sandbox.ilert_alert_sources()[0]["integrationUrl"]


def test_manual_mode_names_each_event_to_tick_as_levels_ui_labels_it(sandbox: Sandbox) -> None:
    events = ["alert_active", "alert_resolved", "device_created"]
    config = stack_config(
        sandbox, [{**ACME, "eventTypes": events}], **{"level:webhookManagement": "manual"}
    )

    _, exported = run_with_exports(config, ProvidersAgainstSandbox(config))

    text = exported["level-acme"]["setupInstructions"]
    assert (
        'choose Select types to send and tick "Alert active" and "Alert resolved" and '
        '"device_created"\n' in text
    )


def test_the_engine_is_told_which_outputs_are_secret(sandbox: Sandbox) -> None:
    """The engine stores these outputs encrypted and shows them as [secret]; the SDK passes
    them in each resource's options, seen here by a stack transformation."""
    config = stack_config(sandbox, [ACME])
    secret_outputs: dict[str, list[str]] = {}

    def record(args: pulumi.ResourceTransformationArgs) -> None:
        secret_outputs[args.type_] = sorted(args.opts.additional_secret_outputs or [])

    def program() -> None:
        pulumi.runtime.set_all_config(config)
        pulumi.runtime.register_stack_transformation(record)
        runpy.run_path(str(PROGRAM))

    capture_registrations(program, mocks=ProvidersAgainstSandbox(config), stack="sandbox")

    assert secret_outputs == {
        COMPONENT: [],
        ALERT_SOURCE: ["integration_key", "integration_url"],
        WEBHOOK: ["secret", "url"],
    }


def test_the_resources_used_directly_have_the_documented_defaults_and_outputs(
    sandbox: Sandbox,
) -> None:
    """IlertAlertSource and LevelWebhook as a program of one's own would use them."""
    config = stack_config(sandbox, [])
    resolved: dict[str, Any] = {}

    def program() -> None:
        pulumi.runtime.set_all_config(config)
        source = IlertAlertSource("s", name="Level - X", escalation_policy="On-call L1")
        webhook = LevelWebhook(
            "w", url=source.integration_url, secret="whsec-9",
            event_types=pulumi.Output.from_input(["alert_resolved", "alert_active"]),
        )
        for owner, resource, names in (
            ("source", source, ("escalation_policy_id", "escalation_policy_name", "status",
                                "integration_key", "integration_url", "active", "teams")),
            ("webhook", webhook, ("url", "event_types", "enabled", "has_secret", "secret",
                                  "created_at", "updated_at")),
        ):
            for name in names:
                getattr(resource, name).apply(
                    functools.partial(resolved.__setitem__, f"{owner}.{name}")
                )

    capture_registrations(program, mocks=ProvidersAgainstSandbox(config), stack="sandbox")

    (source,) = sandbox.ilert_alert_sources()
    (webhook,) = sandbox.level_webhooks()
    assert (source["active"], webhook["enabled"]) == (True, True)
    assert resolved == {
        "source.escalation_policy_id": 2,
        "source.escalation_policy_name": "On-call L1",
        "source.status": source["status"],
        "source.integration_key": source["integrationKey"],
        "source.integration_url": source["integrationUrl"],
        "source.active": True,
        "source.teams": None,
        "webhook.url": source["integrationUrl"],
        "webhook.event_types": ["alert_active", "alert_resolved"],
        "webhook.enabled": True,
        "webhook.has_secret": True,
        "webhook.secret": "whsec-9",
        "webhook.created_at": webhook["created_at"],
        "webhook.updated_at": webhook["updated_at"],
    }


def test_the_resources_used_directly_refuse_a_duplicate_unless_told_to_adopt(
    sandbox: Sandbox,
) -> None:
    sandbox.ilert.create_alert_source(
        {"name": "Level - X", "integrationType": "LEVELIO", "escalationPolicy": {"id": 1}}
    )
    config = stack_config(sandbox, [])

    def program() -> None:
        pulumi.runtime.set_all_config(config)
        IlertAlertSource("s", name="Level - X", escalation_policy=1)

    with pytest.raises(Exception, match="adopt: true"):
        capture_registrations(program, mocks=ProvidersAgainstSandbox(config), stack="sandbox")
    assert sandbox.count("ilert", "PUT") == 0


def test_a_webhook_used_directly_refuses_a_duplicate_and_sends_both_events_by_default(
    sandbox: Sandbox,
) -> None:
    existing = sandbox.level.create_webhook(
        {"url": "https://hooks.example/a", "enabled": True, "event_types": None}
    )
    config = stack_config(sandbox, [])

    def duplicate() -> None:
        pulumi.runtime.set_all_config(config)
        LevelWebhook("w", url=existing["url"])

    def fresh() -> None:
        pulumi.runtime.set_all_config(config)
        LevelWebhook("w", url="https://hooks.example/b")

    with pytest.raises(Exception, match="adopt: true"):
        capture_registrations(duplicate, mocks=ProvidersAgainstSandbox(config), stack="sandbox")
    capture_registrations(fresh, mocks=ProvidersAgainstSandbox(config), stack="sandbox")

    hooks = {hook["url"]: hook for hook in sandbox.level_webhooks()}
    assert hooks["https://hooks.example/a"]["event_types"] is None  # left as it was
    assert hooks["https://hooks.example/b"]["event_types"] == ["alert_active", "alert_resolved"]


def test_the_component_registers_each_default_check_fills_in_and_wires_the_source_id(
    sandbox: Sandbox,
) -> None:
    """What the component registers is what `check` makes of it: a refresh that runs the
    program compares like with like (no default shown as removed). The webhook's `adopt` is
    the integration's unless its settings say otherwise; its `alert_source_id` is the source's."""
    config = stack_config(sandbox, [])
    mocks = ProvidersAgainstSandbox(config)

    def program() -> None:
        pulumi.runtime.set_all_config(config)
        LevelIlertIntegration("a", LevelIlertIntegrationArgs(name="A", escalation_policy=1))
        LevelIlertIntegration(
            "b", LevelIlertIntegrationArgs(name="B", escalation_policy=1, adopt=True)
        )
        LevelIlertIntegration("c", LevelIlertIntegrationArgs(
            name="C", escalation_policy=1, adopt=True, webhook={"adopt": False},
        ))

    capture_registrations(program, mocks=mocks, stack="sandbox")

    def inputs(typ: str, name: str) -> dict[str, Any]:
        (found,) = [r for r in mocks.registrations if (r.typ, r.name) == (typ, name)]
        return {k: v for k, v in found.plain_inputs.items() if k != PROVIDER_KEY}

    assert inputs(ALERT_SOURCE, "a") == {
        "name": "A", "escalation_policy": 1, "integration_type": "LEVELIO",
        "alert_creation": "ONE_ALERT_PER_EMAIL", "alert_priority_rule": "HIGH",
        "active": True, "adopt": False,
    }
    source_ids = {name: mocks.created[f"{ALERT_SOURCE}::{name}"][0] for name in "abc"}
    for name, adopt in (("a", False), ("b", True), ("c", False)):
        webhook = inputs(WEBHOOK, name)
        assert webhook == {
            "url": webhook["url"], "alert_source_id": source_ids[name],
            "event_types": ["alert_active", "alert_resolved"], "enabled": True, "adopt": adopt,
        }, name


def test_both_resources_go_before_their_successors_are_made(sandbox: Sandbox) -> None:
    """A replaced source's successor has its name (a create beside it is refused); a replaced
    webhook beside its successor would page every alert twice: the engine is told to delete
    first, seen by a stack transformation."""
    config = stack_config(sandbox, [ACME])
    delete_first: dict[str, bool | None] = {}

    def record(args: pulumi.ResourceTransformationArgs) -> None:
        delete_first[args.type_] = args.opts.delete_before_replace

    def program() -> None:
        pulumi.runtime.set_all_config(config)
        pulumi.runtime.register_stack_transformation(record)
        runpy.run_path(str(PROGRAM))

    capture_registrations(program, mocks=ProvidersAgainstSandbox(config), stack="sandbox")

    assert delete_first == {COMPONENT: None, ALERT_SOURCE: True, WEBHOOK: True}


def test_a_webhook_setting_the_component_does_not_know_is_refused_by_name(
    sandbox: Sandbox,
) -> None:
    config = stack_config(sandbox, [])

    def program() -> None:
        pulumi.runtime.set_all_config(config)
        LevelIlertIntegration("a", LevelIlertIntegrationArgs(
            name="A", escalation_policy=1, webhook={"size": 1, "colour": "red"},  # type: ignore[typeddict-unknown-key]
        ))

    with pytest.raises(TypeError, match=r"^LevelIlertIntegrationArgs\.webhook has no setting "
                                        r"'colour'$"):
        capture_registrations(program, mocks=ProvidersAgainstSandbox(config), stack="sandbox")
    assert sandbox.count() == 0


def test_manual_mode_steps_through_the_component_say_which_groups_to_tick(
    sandbox: Sandbox,
) -> None:
    config = stack_config(sandbox, [{**ACME, "deviceGroups": ["Acme Corp"]}],
                          **{"level:webhookManagement": "manual"})

    _, exported = run_with_exports(config, ProvidersAgainstSandbox(config))

    text = exported["level-acme"]["setupInstructions"]
    assert "  6. Scope it to device groups: tick only 'Acme Corp' (the groups below them" in text
    assert "  7. Leave Enabled on and save." in text


def test_the_steps_without_a_stack_end_with_the_test_step() -> None:
    """Without a stack name (a program of one's own calling it) there is no stack to name in
    a `make verify` step: the steps end with the test."""
    steps = setup_instructions(
        "level-acme", source_name="Level - Acme", event_types=["alert_active", "alert_resolved"],
        enabled=True, device_groups=None, has_secret=False,
    )

    assert steps.endswith("     Requests tab (delivery log) in Level.")
    assert "make verify" not in steps
