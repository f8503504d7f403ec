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
