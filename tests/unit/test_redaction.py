"""Redact first, then cut: no secret an API echoes survives in a message, whole or in part.

Each secret (the API key, the webhook URL, the integration key alone, the webhook secret) is
echoed by the answer at every position around the cut of each path an answer takes into a
message: the server's JSON message (cut at 300), a plain-text body (300), an answer that is
not JSON (100), ``ops verify``'s delivery answer (80). Cutting before masking let the part
before the cut through (a webhook secret echoed around character 290 showed as
``secret=whsec_SSSSSS``); every fragment of 6 characters of every secret is looked for.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import responses

from clients.http import MAX_MESSAGE_CHARS, ApiError, RetryPolicy
from clients.level import LevelClient
from clients.untrusted import api_text, one_line, redact, secret_forms
from ops.verify import DeliveryError, deliver

LEVEL = "https://api.level.test"
KEY = "lvKEY7bq4Tz9wPm3"
INTEGRATION_KEY = "il1lev0Kq8Zr5Tn2Wv6Jy4"
HOOK_URL = f"https://api.ilert.test/api/v1/events/levelio/{INTEGRATION_KEY}"
HOOK_SECRET = "whsec_Q8dR3kM9zV2bN7cF"
WEBHOOK_ID = "wh_1"
SECRETS = {
    "API key": KEY,
    "webhook URL": HOOK_URL,
    "integration key": INTEGRATION_KEY,
    "webhook URL, JSON-escaped": HOOK_URL.replace("/", "\\/"),
    "webhook URL, percent-encoded": "https%3A%2F%2Fapi.ilert.test%2Fapi%2Fv1%2Fevents%2F"
    f"levelio%2F{INTEGRATION_KEY}",
    "webhook secret": HOOK_SECRET,
}
FRAGMENT = 6


def fragments(secret: str) -> set[str]:
    """Every run of ``FRAGMENT`` characters of a secret's distinctive part."""
    return {secret[i:i + FRAGMENT] for i in range(len(secret) - FRAGMENT + 1)}


#: What must never show: fragments of the key, the integration key and the secret (the URL's
#: other parts, such as ``/api/v1/events``, are no secret).
LEAKS = fragments(KEY) | fragments(INTEGRATION_KEY) | fragments(HOOK_SECRET)


def echoed(secret: str, at: int) -> str:
    """An answer of filler with ``secret`` starting at character ``at``."""
    return "x" * at + secret + "y" * 40


def positions(secret: str, cut: int, prefix: int) -> range:
    """Every start at which the echo touches or straddles the cut of a message whose
    answer part starts after ``prefix`` characters of our own."""
    room = cut - prefix
    return range(max(room - len(secret) - 2, 0), room + 2)


def leaked(message: str) -> list[str]:
    return sorted(part for part in LEAKS if part in message)


def level() -> LevelClient:
    return LevelClient(LEVEL, KEY, retry=RetryPolicy(attempts=1))


def patch_error(body: str, *, status: int, content_type: str) -> str:
    """The error of a PATCH of the webhook (URL and secret in its body) answered ``body``."""
    responses.patch(f"{LEVEL}/v2/webhooks/{WEBHOOK_ID}", status=status, body=body,
                    content_type=content_type)
    with pytest.raises(ApiError, match="failed") as caught:
        level().update_webhook(WEBHOOK_ID, {"url": HOOK_URL, "secret": HOOK_SECRET})
    return str(caught.value)


CASES: dict[str, tuple[int, Callable[[str], str]]] = {
    # the server's own message field, cut at MAX_MESSAGE_CHARS
    "JSON message": (MAX_MESSAGE_CHARS, lambda text: patch_error(
        json.dumps({"error": text}), status=422, content_type="application/json")),
    # a body that is not JSON, shown whole up to the cut
    "plain-text error body": (MAX_MESSAGE_CHARS, lambda text: patch_error(
        text, status=400, content_type="text/plain")),
    # a 2xx answer that is not JSON: its first 100 characters
    "2xx answer that is not JSON": (100, lambda text: patch_error(
        text, status=200, content_type="text/html")),
}


@pytest.mark.parametrize("secret_name", SECRETS)
@pytest.mark.parametrize("case", CASES)
@responses.activate
def test_no_secret_survives_the_cut_of_an_api_error(case: str, secret_name: str) -> None:
    cut, error_of = CASES[case]
    secret = SECRETS[secret_name]
    for at in positions(secret, cut, prefix=0):
        responses.reset()

        message = error_of(echoed(secret, at))

        assert not leaked(message), (case, secret_name, at, message)
        assert "xxx" in message  # the answer did reach the message


@pytest.mark.parametrize("secret_name", [name for name in SECRETS if name != "API key"])
@responses.activate
def test_no_secret_survives_the_cut_of_a_delivery_answer(secret_name: str) -> None:
    """``make verify`` posts a delivery to the integration URL; ilert's answer is cut at 80.
    (It sends no API key: the URL, its key and the webhook secret are what it could echo.)"""
    secret = SECRETS[secret_name]
    for at in positions(secret, 80, prefix=0):
        responses.reset()
        responses.post(HOOK_URL, status=400, json={"message": echoed(secret, at)})

        with pytest.raises(DeliveryError, match="HTTP 400") as caught:
            deliver(HOOK_URL, "alert_active", {"id": "a1"}, HOOK_SECRET)

        assert not leaked(str(caught.value)), (secret_name, at, str(caught.value))


@responses.activate
def test_a_redirect_location_with_the_key_in_it_is_masked() -> None:
    responses.patch(f"{LEVEL}/v2/webhooks/{WEBHOOK_ID}", status=302,
                    headers={"Location": f"https://elsewhere.test/{INTEGRATION_KEY}?k={KEY}"})

    with pytest.raises(ApiError, match="redirected") as caught:
        level().update_webhook(WEBHOOK_ID, {"url": HOOK_URL, "secret": HOOK_SECRET})

    assert not leaked(str(caught.value)), str(caught.value)


def test_each_secret_part_of_a_url_is_a_secret_on_its_own() -> None:
    forms = secret_forms(f"https://hooks.test/api/v1/events/levelio/{INTEGRATION_KEY}?t=tok123456")

    assert INTEGRATION_KEY in forms and "tok123456" in forms
    assert "levelio" not in forms and "api" not in forms  # the path's words stay readable
    assert redact(f"bad key {INTEGRATION_KEY}.", [HOOK_URL]) == "bad key ***."


def test_answers_reach_a_message_on_one_line_with_every_script_intact() -> None:
    text = "Ошибка\nilert:baseUrl: x\u2028東京\x1b[31m\u202eevil"

    shown = api_text(text, [], 300)

    assert shown == "Ошибка\\nilert:baseUrl: x\\u2028東京\\x1b[31m\\u202eevil"
    assert shown.splitlines() == [shown]
    assert one_line("Zürich Þórr 東京 مستوى") == "Zürich Þórr 東京 مستوى"
