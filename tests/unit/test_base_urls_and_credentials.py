"""Base URLs and credentials as the user sets them: what is accepted (normalised) and the
exact sentence for what is not. Plain http only for loopback, so a credential never travels
in clear text; a pasted credential with a control or typographic character is named, never
quoted. The headers every request carries are checked as the API receives them."""

from __future__ import annotations

import pytest
import responses

from clients.http import credential_problem, normalise_base_url
from clients.ilert import IlertClient
from clients.level import LevelClient

EXAMPLE = "an https URL of scheme and host only, such as https://api.example.com"
SCHEME_AND_HOST = "must be scheme and host only, such as https://api.example.com; remove the"


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("https://api.ilert.com/", "https://api.ilert.com"),
        ("  https://api.ilert.com  ", "https://api.ilert.com"),
        ("https://api.ilert.com:8443", "https://api.ilert.com:8443"),
        ("http://127.0.0.2:8790", "http://127.0.0.2:8790"),
        ("http://[::1]:8790", "http://[::1]:8790"),
        ("http://LOCALHOST:8790", "http://LOCALHOST:8790"),
        ("https://API.ILERT.BOX/", "https://API.ILERT.BOX"),
    ],
)
def test_accepted_base_urls_are_used_without_a_trailing_slash(given: str, used: str) -> None:
    assert normalise_base_url(given, setting="ilert:baseUrl") == used


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("http://10.0.0.1", "must use https:// (plain http would send the credential in clear "
                            "text); http is accepted for loopback hosts only"),
        ("http://api.ilert.com", "must use https:// (plain http would send the credential in "
                                 "clear text); http is accepted for loopback hosts only"),
        ("ftp://api.ilert.com", f"must be {EXAMPLE}"),
        ("https://", f"must be {EXAMPLE}"),
        ("https://api ilert.com", f"must be {EXAMPLE}; it contains spaces or control characters"),
        ("https://api.ilert.com\x00", f"must be {EXAMPLE}; it contains spaces or control "
                                      f"characters"),
        ("https://api.ilert.com:port", f"must be {EXAMPLE}; its port is not a number"),
        ("https://me:pw@api.ilert.com", "must not contain a user name or password "
                                        "(user:password@); remove it, the API credential has "
                                        "its own setting"),
        ("https://api.ilert.com/api", f"{SCHEME_AND_HOST} path, the client adds the API's own "
                                      f"path (/api, /v2)"),
        ("https://api.ilert.com?x=1", f"{SCHEME_AND_HOST} query (?...) or fragment (#...)"),
        ("https://api.ilert.com#top", f"{SCHEME_AND_HOST} query (?...) or fragment (#...)"),
    ],
)
def test_refused_base_urls_say_why_naming_the_setting(given: str, says: str) -> None:
    with pytest.raises(ValueError, match=r"^ilert:baseUrl ") as caught:
        normalise_base_url(given, setting="ilert:baseUrl")

    assert str(caught.value) == f"ilert:baseUrl {says}"
    assert "pw" not in str(caught.value)


@pytest.mark.parametrize(
    ("credential", "problem"),
    [
        ("il1-token", None),
        ("café-latin-1", None),
        ("\u00ff-last-of-latin-1", None),
        ("\u0100-first-past-it", "contains a character outside Latin-1 (for example a "
                                 "typographic quote or dash from copy and paste)"),
        ("tok\nen", "contains a control character (a line break)"),
        ("tok\ren", "contains a control character (a carriage return)"),
        ("tok\ten", "contains a control character (a tab)"),
        ("tok\x00en", "contains a control character (NUL)"),
        ("tok\x01en", "contains a control character (U+0001)"),
        ("tok\x7fen", "contains a control character (U+007F)"),
        ("tok\u2019en", "contains a character outside Latin-1 (for example a typographic quote "
                        "or dash from copy and paste)"),
    ],
)
def test_a_pasted_credential_is_checked_without_being_quoted(
    credential: str, problem: str | None
) -> None:
    assert credential_problem(credential) == problem


@responses.activate
def test_every_request_says_who_calls_and_that_it_wants_json() -> None:
    responses.get("https://api.ilert.test/api/alerts/1", json={"id": 1, "status": "PENDING"})
    responses.get("https://api.level.test/v2/alerts/A", json={"id": "A"})

    IlertClient("https://api.ilert.test", "il-token").get_alert(1)
    LevelClient("https://api.level.test", "lv-key").get_alert("A")

    for call, auth in zip(responses.calls, ("Bearer il-token", "lv-key"), strict=True):
        headers = call.request.headers
        assert headers["User-Agent"] == (
            "level-ilert/0.1 (+https://github.com/level-ilert; pulumi dynamic provider)"
        )
        assert headers["Accept"] == "application/json"
        assert headers["Authorization"] == auth


def test_a_bad_credential_and_a_bad_base_url_are_named_in_one_message() -> None:
    from clients.endpoints import ILERT, EndpointSettingError, resolve

    config = {"ilert:apiToken": "il1\ntoken", "ilert:baseUrl": "http://api.ilert.com"}

    with pytest.raises(EndpointSettingError, match="ilert:apiToken") as caught:
        resolve(ILERT, config.get, {})

    assert str(caught.value) == (
        "ilert:apiToken (stack config) contains a control character (a line break), so it "
        "cannot be sent to the ilert API. Copy it again, it is an ilert API key (ilert: Profile "
        "> API keys); set it with `pulumi config set --secret ilert:apiToken` (it asks for the "
        "value). "
        "ilert:baseUrl (stack config) must use https:// (plain http would send the credential "
        "in clear text); http is accepted for loopback hosts only. Leave it unset for "
        "https://api.ilert.com."
    )


@pytest.mark.parametrize("value", ["1", "0.5", "90"])
def test_any_positive_tuning_value_is_accepted(value: str) -> None:
    from clients.tuning import tuning_for

    tuning = tuning_for("level", {"level:operationTimeoutSeconds": value}.get)

    assert tuning.operation_timeout == float(value)
