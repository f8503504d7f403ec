"""A 401 from a read or a delete names a key rotation and `make rotate`, unless the program ran.

Pulumi configures a refresh (and a destroy's deletes) with the config saved at the stack's
last `pulumi up`, unless the program runs (`--run-program`, or PULUMI_RUN_PROGRAM=true as the
Makefile sets): after a rotation the old, revoked key is what reaches the API. The message
then says so and names the one command that completes the rotation; with the program running
the refused key is the one set now, and the sentence would mislead.
"""

from __future__ import annotations

from typing import Any

import pytest

from clients.http import ForbiddenError, UnauthorizedError
from providers.provider_base import ROTATE_COMMAND, ROTATION_HINT, ConfiguredProvider


def refused(kind: type[UnauthorizedError] | type[ForbiddenError] = UnauthorizedError) -> Any:
    return kind(api="ilert", method="GET", path="/api/alert-sources", status=401,
                message="Missing or invalid API key", hint="Check the credential: set it.")


class Refusing(ConfiguredProvider):
    """A resource whose reads and deletes meet a refused key."""

    error: Exception = refused()

    def read(self, id_: str, props: dict[str, Any]) -> Any:
        raise self.error

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        raise self.error


@pytest.mark.parametrize("operation", ["read", "delete"])
@pytest.mark.parametrize("run_program", [None, "false", "0"])
def test_a_401_outside_a_run_of_the_program_names_the_rotation_and_make_rotate(
    monkeypatch: pytest.MonkeyPatch, operation: str, run_program: str | None
) -> None:
    if run_program is None:
        monkeypatch.delenv("PULUMI_RUN_PROGRAM", raising=False)
    else:
        monkeypatch.setenv("PULUMI_RUN_PROGRAM", run_program)
    provider = Refusing()
    provider.error = refused()

    with pytest.raises(UnauthorizedError, match="HTTP 401") as caught:
        getattr(provider, operation)("1", {})

    text = str(caught.value)
    assert text.startswith(
        "ilert API GET /api/alert-sources failed (HTTP 401): Missing or invalid API key. "
        "Check the credential: set it. If you gave the stack a new key since its last "
        "`pulumi up` (a rotation)"
    )
    assert f"`{ROTATE_COMMAND}` completes the rotation" in text
    assert text.count(ROTATION_HINT) == 1


@pytest.mark.parametrize("run_program", ["true", "1", "TRUE"])
def test_with_the_program_running_the_401_asks_only_for_a_good_key(
    monkeypatch: pytest.MonkeyPatch, run_program: str
) -> None:
    monkeypatch.setenv("PULUMI_RUN_PROGRAM", run_program)
    provider = Refusing()
    provider.error = refused()

    with pytest.raises(UnauthorizedError, match="HTTP 401") as caught:
        provider.read("1", {})

    assert ROTATION_HINT not in str(caught.value)


def test_other_failures_pass_unchanged_and_the_hint_is_added_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PULUMI_RUN_PROGRAM", raising=False)
    forbidden = ForbiddenError(api="Level", method="DELETE", path="/v2/webhooks/1", status=403,
                               message="read-only", hint="")
    provider = Refusing()
    provider.error = forbidden
    with pytest.raises(ForbiddenError, match="HTTP 403") as caught:
        provider.delete("1", {})
    assert ROTATION_HINT not in str(caught.value)

    provider.error = refused()
    for _ in range(2):  # the same error raised twice (a retried operation) keeps one hint
        with pytest.raises(UnauthorizedError, match="HTTP 401") as again:
            provider.read("1", {})
    assert str(again.value).count(ROTATION_HINT) == 1


def test_the_project_providers_read_and_delete_are_wrapped() -> None:
    from providers.ilert_alert_source import IlertAlertSourceProvider
    from providers.level_webhook import LevelWebhookProvider

    for provider in (IlertAlertSourceProvider, LevelWebhookProvider):
        for name in ("read", "delete"):
            assert getattr(provider, name).__wrapped__.__qualname__ == (
                f"{provider.__name__}.{name}"
            )
