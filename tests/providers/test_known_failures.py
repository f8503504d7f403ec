"""Failures the providers expect are KnownFailures: their message alone reaches the user.

The engine adapter (providers/engine_adapter.py) hands the engine a ``KnownFailure``'s message
alone and keeps the traceback for anything else; these are the paths an audit found raising
something else: invalid inputs reaching create or update, an API page of the wrong shape, and
a lost create whose settling look-up fails too.
"""

from __future__ import annotations

from typing import Any

import pytest

from clients.ilert import IlertClient
from providers.engine_adapter import KnownFailure
from providers.ilert_alert_source import (
    AlertSourceExistsError,
    IlertAlertSourceProvider,
    UnknownEscalationPolicyError,
)
from providers.level_webhook import LevelWebhookProvider, WebhookExistsError
from providers.provider_base import OutcomeUnknownError
from providers.schema import InvalidInputsError
from sandbox import ILERT_TOKEN, Sandbox

SOURCE: dict[str, Any] = {"name": "Level - Acme", "escalation_policy": "Default"}


def test_invalid_inputs_in_create_name_each_property_without_a_pydantic_dump(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    with pytest.raises(InvalidInputsError, match="inputs are invalid") as caught:
        alert_sources.create({**SOURCE, "alert_creation": "BAD", "teams": [0]})

    text = str(caught.value)
    assert text.startswith("The resource's inputs are invalid: alert_creation must be one of ")
    assert "teams[0]: teams must be a list of ilert team ids" in text
    assert "validation error" not in text and "pydantic" not in text
    assert text.endswith("Fix them in the stack file (or the program that declares the "
                         "resource) and run again.")
    assert sandbox.count() == 0


def test_invalid_inputs_in_update_never_quote_a_secret(
    webhooks: LevelWebhookProvider, sandbox: Sandbox
) -> None:
    secret_url = "http://user:hunter2@example.com/hook"

    with pytest.raises(InvalidInputsError, match="url must not contain a user name") as caught:
        webhooks.update("wh_1", {}, {"url": secret_url, "event_types": ["alert_active"]})

    assert "hunter2" not in str(caught.value)
    assert "event_types must include both alert_active" in str(caught.value)
    assert sandbox.count() == 0


def test_a_page_of_the_wrong_shape_is_an_api_error_naming_the_path(sandbox: Sandbox) -> None:
    """A listing answered with an object (here: the route of one source) is a KnownFailure."""
    client = IlertClient(sandbox.ilert_url, ILERT_TOKEN)
    source = client.create_alert_source(
        {"name": "Level - Acme", "integrationType": "LEVELIO", "escalationPolicy": {"id": 1}}
    )
    path = f"/api/alert-sources/{source.id}"

    with pytest.raises(KnownFailure, match=rf"^ilert API GET {path} failed") as caught:
        list(client._pages(path, 50, 50))

    assert str(caught.value) == (
        f"ilert API GET {path} failed (no answer): the answer was not a list (a page). The API "
        f"may have changed; this client needs updating."
    )


def test_a_lost_create_whose_look_up_fails_too_says_the_object_may_exist(
    webhooks: LevelWebhookProvider, sandbox: Sandbox
) -> None:
    url = f"{sandbox.ilert_url}/api/v1/events/levelio/il1lvl0000"
    sandbox.faults.add("level", "GET", "/v2/webhooks", status=None, delay_seconds=0.01)
    sandbox.faults.add("level", "POST", "/v2/webhooks", mode="reset_after")
    sandbox.faults.add("level", "GET", "/v2/webhooks", status=400)

    with pytest.raises(OutcomeUnknownError, match="may exist now") as caught:
        webhooks.create({"url": url})

    text = str(caught.value)
    assert text.startswith("Level API POST /v2/webhooks failed (no answer): the request was "
                           "sent but the connection was dropped before an answer")
    assert "The look-up that would settle it failed too: Level API GET /v2/webhooks failed " \
           "(HTTP 400)" in text
    assert text.endswith("if it finds the object it stops and names it, and `adopt: true` on "
                         "this integration takes it over.")
    assert url not in text
    assert len(sandbox.level_webhooks()) == 1  # made once by the lost POST, never twice


def test_the_refusals_and_settling_failures_of_a_create_are_known_failures() -> None:
    """The engine then shows their message alone: no traceback around "adopt: true"."""
    for failure in (
        AlertSourceExistsError, WebhookExistsError, UnknownEscalationPolicyError,
        OutcomeUnknownError, InvalidInputsError,
    ):
        assert issubclass(failure, KnownFailure), failure
