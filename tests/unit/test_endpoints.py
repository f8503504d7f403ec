"""clients.endpoints: where a credential or base URL came from, checked, never quoted.

The catalogue in tests/providers/test_bad_inputs.py covers the messages of each bad value;
this file covers the rules around them: precedence of config over env, what counts as set,
what is stripped, and that no repr or error of a client or provider carries a credential.
"""

from __future__ import annotations

import pickle
import re

import pytest
from pulumi.dynamic import Config, ConfigureRequest
from pydantic import ValidationError

from clients.endpoints import (
    ILERT,
    LEVEL,
    EndpointSettingError,
    MissingCredentialError,
    problems,
    resolve,
)
from clients.http import ApiError, ApiUnreachableError, RetryPolicy, credential_problem
from clients.ilert import IlertClient
from clients.level import LevelClient
from components.settings import Integration, SettingsError
from providers.ilert_alert_source import IlertAlertSourceProvider
from providers.level_webhook import SCHEMA as WEBHOOK
from providers.level_webhook import LevelWebhookProvider
from providers.schema import InvalidInputsError

TOKEN = "il-live-7f3a9c2e5b-token"  # looks real on purpose: a leak would be visible
KEY = "lv-live-0c1d2e3f4a-key"


def test_config_wins_over_env_and_names_its_own_source() -> None:
    config = {"ilert:apiToken": "tok\nen", "ilert:baseUrl": None}.get

    with pytest.raises(
        EndpointSettingError, match=r"^ilert:apiToken \(stack config\) contains a control"
    ) as caught:
        resolve(ILERT, config, {"ILERT_API_TOKEN": TOKEN})

    assert str(caught.value).startswith("ilert:apiToken (stack config) contains a control")
    assert "ILERT_API_TOKEN" not in str(caught.value)


def test_env_is_used_when_config_is_blank_and_named_when_it_is_bad() -> None:
    with pytest.raises(EndpointSettingError, match=r"^LEVEL_API_KEY \(environment variable\)"):
        resolve(LEVEL, {"level:apiKey": "   "}.get, {"LEVEL_API_KEY": "k\u2019ey"})


def test_surrounding_whitespace_is_stripped_not_refused() -> None:
    """`echo $KEY | pulumi config set` leaves a trailing newline; that one is harmless."""
    config = {"ilert:apiToken": f"  {TOKEN}\n", "ilert:baseUrl": " https://ilert.example.com/ "}

    endpoint = resolve(ILERT, config.get, {})

    assert (endpoint.credential, endpoint.base_url) == (TOKEN, "https://ilert.example.com")


def test_default_base_url_when_none_is_set() -> None:
    assert resolve(LEVEL, {"level:apiKey": KEY}.get, {}).base_url == "https://api.level.io"


def test_both_problems_are_reported_at_once_and_a_missing_credential_is_none() -> None:
    config = {"ilert:apiToken": "a\tb", "ilert:baseUrl": "https://x:pw@ilert.example.com"}

    found = problems(ILERT, config.get, {})

    assert [p.split(" ")[0] for p in found] == ["ilert:apiToken", "ilert:baseUrl"]
    nothing: dict[str, str] = {}
    assert problems(ILERT, nothing.get, {}) == []
    with pytest.raises(MissingCredentialError, match=r"ilert:apiToken.*ILERT_API_TOKEN"):
        resolve(ILERT, nothing.get, {})


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (TOKEN, None),
        ("caf\u00e9-latin1-is-sendable", None),
        ("a b", None),  # a space is legal in a header value
        ("a\x1fb", "control character (U+001F)"),
        ("a\u200bb", "outside Latin-1"),  # a zero-width space from a web page
    ],
)
def test_credential_rules(value: str, problem: str | None) -> None:
    found = credential_problem(value)

    assert (found is None) if problem is None else (problem in (found or ""))
    assert value not in (found or "")


def test_no_repr_or_pickle_of_a_configured_provider_holds_a_credential() -> None:
    config = Config(
        {"ilert:apiToken": TOKEN, "level:apiKey": KEY, "ilert:baseUrl": "https://x.test"},
        "level-ilert",
    )
    for provider in (IlertAlertSourceProvider(), LevelWebhookProvider()):
        provider.configure(ConfigureRequest(config))
        text = repr(provider) + str(provider) + repr(provider.endpoint(ILERT))

        assert TOKEN not in text and KEY not in text
        assert "ilert:apiToken" in repr(provider)  # says what is configured, not the value
        blob = pickle.dumps(provider)
        assert TOKEN.encode() not in blob and KEY.encode() not in blob


def test_no_repr_or_error_of_a_client_holds_its_credential() -> None:
    ilert = IlertClient("http://127.0.0.1:9", TOKEN, retry=RetryPolicy(attempts=1))
    level = LevelClient("http://127.0.0.1:9", KEY)

    for client, secret in ((ilert, TOKEN), (level, KEY)):
        assert secret not in repr(client) + repr(vars(client))
    with pytest.raises(ApiUnreachableError, match="could not connect") as caught:
        ilert.get_alert_source(1)  # nothing listens on port 9

    assert TOKEN not in str(caught.value) + repr(caught.value)
    assert isinstance(caught.value, ApiError)


def test_a_base_url_password_never_reaches_the_message() -> None:
    for setting in (ILERT, LEVEL):
        config = {
            setting.credential_key: TOKEN,
            setting.base_url_key: "https://admin:S3cr3t-pw@api.example.com",
        }
        with pytest.raises(
            EndpointSettingError,
            match=rf"^{re.escape(setting.base_url_key)} \(stack config\) must not",
        ) as caught:
            resolve(setting, config.get, {})

        text = str(caught.value)
        assert re.match(rf"{re.escape(setting.base_url_key)} \(stack config\) must not", text)
        assert "S3cr3t-pw" not in text and "admin" not in text


def test_a_validation_error_raised_outside_check_never_shows_a_value() -> None:
    """create/update validate again; if that ever fails, its traceback quotes no secret."""
    secret_url = "https://api.ilert.com/api/v1/events/levelio/il1-secret-key 1"
    bad = {"url": secret_url, "secret": ["whsec-77"], "enabled": "x"}
    with pytest.raises(ValidationError, match="for WebhookArgs") as caught:
        WEBHOOK.model.model_validate(bad)
    with pytest.raises(InvalidInputsError, match=r"^The resource's inputs are invalid") as parsed:
        WEBHOOK.parse(bad)
    with pytest.raises(SettingsError, match="webhookSecret") as again:
        Integration.parse({"name": "x", "escalationPolicy": 1, "webhookSecret": 7731})

    texts = [str(caught.value), repr(caught.value), str(parsed.value), str(again.value)]
    assert "(got 'x')" in str(parsed.value)  # a value that is not secret is quoted
    for text in texts:
        assert "il1-secret-key" not in text and "whsec-77" not in text and "7731" not in text
