"""The stack settings' error, word for word: every problem at once, in the order of the file.

test_settings.py checks each rule; this pins the whole message a user reads when `pulumi
preview` stops, so a lost line, a line that names the wrong key or a garbled separator shows.
"""

from __future__ import annotations

import pytest

from components.settings import INTEGRATIONS_KEY, SettingsError, load_settings

KNOWN_KEYS = (
    "ilert:apiToken, ilert:baseUrl, ilert:operationTimeoutSeconds, ilert:rateLimitRequests, "
    "ilert:rateLimitWindowSeconds, level-ilert:integrations, level:apiKey, level:baseUrl, "
    "level:operationTimeoutSeconds, level:rateLimitRequests, level:rateLimitWindowSeconds, "
    "level:webhookManagement"
)
EXPECTED = f"""\
Invalid stack config:
- ilert:token is not a setting of this project and would be ignored; did you mean \
ilert:apiToken? Rename it (`pulumi config rm ilert:token`, then set ilert:apiToken).
- level-ilert:extra:key is not a setting of this project and would be ignored; remove it \
(`pulumi config rm level-ilert:extra:key`); known keys: {KNOWN_KEYS}.
- level:webhookManagement must be 'api' (the stack manages the Level webhook) or 'manual' \
(you create it in Level's UI); got 'auto'. Fix it with `pulumi config set \
level:webhookManagement api`.
- ilert:baseUrl (stack config) must be scheme and host only, such as https://api.example.com; \
remove the path, the client adds the API's own path (/api, /v2). Leave it unset for \
https://api.ilert.com.
- LEVEL_API_KEY (environment variable) contains a control character (a tab), so it cannot be \
sent to the Level API. Copy it again, it is a read & write Level API key (Level: Settings > API \
keys); set it with `export LEVEL_API_KEY=<value>`.
- level-ilert:integrations[0].name: name must not be blank (at least 1 character other than \
spaces): it is the alert source's name in ilert; set a name such as 'Level - Acme'.
- level-ilert:integrations[0].escalationPolicy: escalationPolicy must be a positive policy id \
(a whole number up to 9007199254740991) or an exact policy name from ilert; got true.
- level-ilert:integrations[1].escalationPolicy is required.
- level-ilert:integrations[2].escalation_policy: escalation_policy is not a known key; did you \
mean escalationPolicy? Rename it."""


def test_every_problem_in_one_message_word_for_word() -> None:
    objects = {
        INTEGRATIONS_KEY: [
            {"name": " ", "escalationPolicy": True},
            {"name": "ok"},
            {"name": "y", "escalation_policy": 1},
        ]
    }
    strings = {"level:webhookManagement": "auto", "ilert:baseUrl": "https://api.ilert.com/api"}

    with pytest.raises(SettingsError, match=r"^Invalid stack config:\n") as caught:
        load_settings(
            objects.get, strings.get,
            config_keys=["ilert:token", "level-ilert:extra:key"],
            environ={"LEVEL_API_KEY": "bad\tkey"},  # the env fallback is checked too
        )

    assert str(caught.value) == EXPECTED


def test_manual_mode_does_not_check_level_settings_it_never_uses() -> None:
    objects = {INTEGRATIONS_KEY: [{"name": "x", "escalationPolicy": 1}]}
    strings = {"level:webhookManagement": "manual", "level:baseUrl": "ftp://level.example"}

    settings = load_settings(objects.get, strings.get, environ={"LEVEL_API_KEY": "bad\tkey"})

    assert settings.webhook_management == "manual"


def test_duplicate_names_are_reported_with_the_other_problems_of_the_file() -> None:
    """A duplicate is found from the entries as written, so it shows in the same run as a
    bad value, even in an entry that has a problem of its own."""
    objects = {
        INTEGRATIONS_KEY: [
            {"name": "Level - Acme", "escalationPolicy": "Default"},
            {"name": "Level - Acme", "escalationPolicy": "Default", "alertCreation": "BAD"},
            {"name": "level acme", "escalationPolicy": 2},
        ]
    }

    with pytest.raises(SettingsError, match=r"^Invalid stack config:") as caught:
        load_settings(objects.get, lambda _key: None)

    lines = str(caught.value).splitlines()
    assert lines[0] == "Invalid stack config:"
    assert lines[1].startswith("- level-ilert:integrations[1].alertCreation: alertCreation must")
    assert lines[2:] == [
        "- level-ilert:integrations[0] and [1] have the same name 'Level - Acme'; each "
        "integration needs its own alert source name. Rename one.",
        "- level-ilert:integrations[0] and [2] have the same resourceName (or a name that "
        "slugs to it) 'level-acme'; set resourceName on one of them to a name of its own.",
    ]


def test_manual_mode_warns_that_level_settings_serve_only_to_delete_old_webhooks() -> None:
    """Switching a stack from api to manual deletes the webhooks it made: those deletes need
    Level's base URL and key, so the keys are kept (with a warning), not refused."""
    strings = {"level:webhookManagement": "manual", "level:baseUrl": "https://api.level.io"}
    keys = [
        "level:webhookManagement", "level:baseUrl", "level:apiKey", "level:rateLimitRequests",
        "level:operationTimeoutSeconds", "ilert:baseUrl",
    ]
    objects = {INTEGRATIONS_KEY: [{"name": "Level - Acme", "escalationPolicy": 1}]}

    settings = load_settings(objects.get, strings.get, config_keys=keys)

    # level:apiKey and level:baseUrl are what make audit/verify/doctor read Level with in
    # manual mode (a read-only key is enough): no warning for them.
    assert [line.split(" ")[0] for line in settings.warnings] == [
        "level:operationTimeoutSeconds", "level:rateLimitRequests",
    ]
    assert settings.warnings[0] == (
        "level:operationTimeoutSeconds is set while level:webhookManagement is manual: the "
        "stack makes no Level call of its own and uses it only to delete webhooks an earlier "
        "api-mode run of this stack made. Once the first `up` in manual mode has deleted them, "
        "remove it (`pulumi config rm level:operationTimeoutSeconds`)."
    )
    api_mode = load_settings(objects.get, {"level:baseUrl": "https://api.level.io"}.get,
                             config_keys=keys, environ={"LEVEL_API_KEY": "k"})
    assert api_mode.warnings == ()


def test_manual_mode_without_level_settings_passes() -> None:
    strings = {"level:webhookManagement": "manual"}
    objects = {INTEGRATIONS_KEY: [{"name": "Level - Acme", "escalationPolicy": 1}]}

    settings = load_settings(
        objects.get, strings.get, config_keys=["level:webhookManagement", "ilert:apiToken"]
    )

    assert settings.webhook_management == "manual"
