"""components.settings: the stack settings users edit, and errors that name the exact key."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.settings import INTEGRATIONS_KEY, SettingsError, load_settings, slug


def load(integrations: Any, management: str | None = None) -> Any:
    objects = {INTEGRATIONS_KEY: integrations}
    strings = {"level:webhookManagement": management}
    return load_settings(objects.get, strings.get, environ={})


def error_of(integrations: Any, management: str | None = None) -> str:
    with pytest.raises(
        SettingsError, match=r"level-ilert:integrations|level:webhookManagement"
    ) as caught:
        load(integrations, management)
    return str(caught.value)


def test_minimal_integration_gets_the_documented_defaults() -> None:
    settings = load([{"name": "Level - Acme", "escalationPolicy": "Default"}])

    assert settings.webhook_management == "api"
    (integration,) = settings.integrations
    assert integration.pulumi_name == "level-acme"
    assert integration.event_types == ["alert_active", "alert_resolved"]
    assert integration.webhook_enabled is True
    # What the file leaves out stays out: the resource's defaults apply (active, adopt, ...).
    assert integration.alert_source_inputs() == {
        "name": "Level - Acme", "escalation_policy": "Default",
    }
    assert integration.active is True
    assert integration.webhook_inputs("https://u")["adopt"] is False


def test_adopt_reaches_both_resources() -> None:
    (integration,) = load(
        [{"name": "Level - Acme", "escalationPolicy": "Default", "adopt": True}]
    ).integrations

    assert integration.alert_source_inputs()["adopt"] is True
    assert integration.webhook_inputs("https://u")["adopt"] is True


def test_every_documented_key_is_accepted() -> None:
    settings = load(
        [
            {
                "name": "Servers", "escalationPolicy": 123456,
                "alertCreation": "INTELLIGENT_GROUPING", "alertGroupingWindow": "PT15M",
                "alertPriorityRule": "LOW_DURING_SUPPORT_HOURS", "autoResolutionTimeout": "PT90M",
                "teams": [3, 1], "active": False,
                "eventTypes": ["alert_resolved", "alert_active", "device_deleted"],
                "webhookEnabled": False, "webhookSecret": "s3cr3t", "resourceName": "servers",
            }
        ],
        management="manual",
    )

    (integration,) = settings.integrations
    assert settings.webhook_management == "manual"
    assert integration.pulumi_name == "servers"
    assert integration.webhook_inputs("https://u")["secret"] == "s3cr3t"
    assert "s3cr3t" not in repr(integration)


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ({"escalationPolicy": 1}, f"{INTEGRATIONS_KEY}[0].name is required"),
        ({"name": "x"}, f"{INTEGRATIONS_KEY}[0].escalationPolicy is required"),
        (
            {"name": "x", "escalationPolicy": 1, "alertCreation": "ONE_ALERT_GROUPED_PER_WINDOW"},
            "alertGroupingWindow is required when alertCreation is ONE_ALERT_GROUPED_PER_WINDOW",
        ),
        (
            {"name": "x", "escalationPolicy": 1, "alertGroupingWindow": "PT5M"},
            "alertGroupingWindow only applies when alertCreation is",
        ),
        (
            {"name": "x", "escalationPolicy": 1, "eventTypes": ["alert_active"]},
            f"{INTEGRATIONS_KEY}[0].eventTypes: eventTypes must include both alert_active",
        ),
        (
            {"name": "x", "escalationPolicy": 1, "autoResolutionTimeout": "1h"},
            f"{INTEGRATIONS_KEY}[0].autoResolutionTimeout: autoResolutionTimeout must be one of",
        ),
        (
            {"name": "x", "escalationPolicy": 1, "teams": ["ops"]},
            f"{INTEGRATIONS_KEY}[0].teams[0]",
        ),
        (
            {"name": "x", "escalationPolicy": 1, "escalation_policy": 2},
            f"{INTEGRATIONS_KEY}[0].escalation_policy: escalation_policy is not a known key; "
            "did you mean escalationPolicy?",
        ),
        (
            {"name": "x", "escalation_policy": 2},
            f"{INTEGRATIONS_KEY}[0].escalation_policy: escalation_policy is not a known key; "
            "did you mean escalationPolicy?",
        ),
        (
            {"name": "x", "escalationPolicy": 1, "webhook_secret": "s"},
            "did you mean webhookSecret?",
        ),
        (
            {"name": "x", "escalationPolicy": 1, "alertGroupingWindows": "PT5M"},
            "alertGroupingWindows is not a known key; did you mean alertGroupingWindow?",
        ),
        (
            {"name": "x", "escalationPolicy": 1, "colour": "red"},
            "colour is not a known key; remove it. Known keys: active, adopt, alertCreation,",
        ),
    ],
)
def test_each_bad_entry_names_the_config_path_and_the_fix(entry: dict[str, Any], says: str) -> None:
    assert says in error_of([entry])


def test_a_bad_secret_is_reported_without_its_value() -> None:
    text = error_of([{"name": "x", "escalationPolicy": 1, "webhookSecret": 424242}])

    assert f"{INTEGRATIONS_KEY}[0].webhookSecret" in text
    assert "424242" not in text


@pytest.mark.parametrize("value", [None, [], {"name": "x"}, "x"])
def test_missing_or_empty_integrations_show_an_example(value: Any) -> None:
    text = error_of(value)

    assert INTEGRATIONS_KEY in text
    assert "escalationPolicy: Default" in text


def test_unknown_webhook_management_names_the_key_and_values() -> None:
    text = error_of([{"name": "x", "escalationPolicy": 1}], management="auto")

    assert "level:webhookManagement must be 'api'" in text
    assert "'manual'" in text


def test_two_integrations_may_not_share_a_name_or_resource_name() -> None:
    assert "same name 'x'" in error_of(
        [
            {"name": "x", "escalationPolicy": 1, "resourceName": "a"},
            {"name": "x", "escalationPolicy": 2, "resourceName": "b"},
        ]
    )
    assert "same resourceName" in error_of(
        [
            {"name": "Level: Acme", "escalationPolicy": 1},
            {"name": "level acme", "escalationPolicy": 2},
        ]
    )


@pytest.mark.parametrize(
    ("name", "expected"), [("Level - Acme GmbH", "level-acme-gmbh"), ("  ", "integration")]
)
def test_slug(name: str, expected: str) -> None:
    assert slug(name) == expected


@pytest.mark.parametrize(
    "stack_file", ["Pulumi.sandbox.yaml", "Pulumi.dev.yaml", "Pulumi.sandbox-manual.yaml"]
)
def test_the_shipped_stack_files_pass_every_check(stack_file: str) -> None:
    """Every key they set is known, and their endpoints are usable (none is quoted)."""
    text = (Path(__file__).resolve().parents[2] / stack_file).read_text()
    config = yaml.safe_load(text)["config"]
    # Values as the language host passes them: objects as JSON text, the rest as strings.
    strings = {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}

    settings = load_settings(
        lambda key: json.loads(strings[key]) if key in strings else None,
        strings.get,
        config_keys=strings,
        environ={},
    )

    assert len(settings.integrations) == len(config[INTEGRATIONS_KEY])


@pytest.mark.parametrize(
    ("keys", "says"),
    [
        (["ilert:apitoken"], "ilert:apitoken is not a setting of this project"),
        (["level-ilert:integration"], "did you mean level-ilert:integrations?"),
    ],
)
def test_unknown_keys_in_our_namespaces_are_refused_and_others_ignored(
    keys: list[str], says: str
) -> None:
    config = {INTEGRATIONS_KEY: [{"name": "x", "escalationPolicy": 1}]}
    other = ["aws:region", "pulumi:tags", "level-ilert:integrations"]

    assert load_settings(config.get, lambda key: None, config_keys=other, environ={})
    with pytest.raises(SettingsError, match=re.escape(says)):
        load_settings(config.get, lambda key: None, config_keys=[*other, *keys], environ={})


def test_every_problem_is_reported_at_once() -> None:
    """One run lists all of them, so one edit of the stack file fixes the config."""
    objects = {
        INTEGRATIONS_KEY: [
            {"name": " ", "escalationPolicy": True},
            {"name": "ok", "escalationPolicy": 1},
            {"name": "y", "escalation_policy": 1},
        ]
    }
    strings = {"level:webhookManagement": "auto", "ilert:baseUrl": "https://api.ilert.com/api"}

    with pytest.raises(SettingsError, match=r"^Invalid stack config:\n- ilert:token") as caught:
        load_settings(objects.get, strings.get, config_keys=["ilert:token"], environ={})

    lines = str(caught.value).splitlines()
    assert lines[0] == "Invalid stack config:"
    assert [line.split(" ")[1].rstrip(":") for line in lines[1:]] == [
        "ilert:token",
        "level:webhookManagement",
        "ilert:baseUrl",
        f"{INTEGRATIONS_KEY}[0].name",
        f"{INTEGRATIONS_KEY}[0].escalationPolicy",
        f"{INTEGRATIONS_KEY}[2].escalation_policy",
    ]


def test_previous_resource_names_become_aliases_and_never_name_another_integration() -> None:
    (integration,) = load([
        {"name": "Level - Acme", "escalationPolicy": 1, "resourceName": "acme",
         "previousResourceNames": ["level-acme"]},
    ]).integrations
    assert integration.previous_resource_names == ("level-acme",)

    message = error_of([
        {"name": "Level - Acme", "escalationPolicy": 1, "previousResourceNames": ["globex"]},
        {"name": "Globex", "escalationPolicy": 1},
    ])
    assert (
        "level-ilert:integrations[0].previousResourceNames lists 'globex', the resource name "
        "of [1]: one name cannot be both. Remove it from one." in message
    )
    assert "previousResourceNames[0]: resourceName must not contain '::'" in error_of([
        {"name": "x", "escalationPolicy": 1, "previousResourceNames": ["a::b"]},
    ])
