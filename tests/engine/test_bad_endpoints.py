"""A bad credential or base URL, as the engine meets it: `pulumi preview` fails at Check.

The engine calls Configure, then Check for each resource, and only calls Create during
`up`. Configure must not raise (the server would answer with a Python traceback, quoting
whatever the exception quotes); Check answers with a failure that names the config key.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from providers.ilert_alert_source import IlertAlertSource
from providers.level_webhook import LevelWebhook
from sandbox import ILERT_TOKEN, LEVEL_API_KEY, Sandbox
from tools.engine_harness import ProviderServer, capture_registrations, dynamic_type

pytestmark = pytest.mark.timeout(120)

BAD_TOKEN = ILERT_TOKEN[:3] + "\n" + ILERT_TOKEN[3:]
PASSWORD = "pw-4411-do-not-print"


@pytest.fixture
def server(sandbox: Sandbox) -> Iterator[ProviderServer]:
    config = {
        "ilert:apiToken": BAD_TOKEN,
        "ilert:baseUrl": sandbox.ilert_url,
        "level:apiKey": LEVEL_API_KEY,
        "level:baseUrl": f"https://admin:{PASSWORD}@api.level.io",
    }
    with ProviderServer(env={"ILERT_API_TOKEN": "", "LEVEL_API_KEY": ""}) as running:
        running.configure(config, secret_keys=("ilert:apiToken", "level:apiKey"))
        yield running


def test_preview_fails_at_check_naming_the_key_never_the_value(
    server: ProviderServer, sandbox: Sandbox
) -> None:
    (source,) = capture_registrations(
        lambda: IlertAlertSource("acme", name="Level - Acme", escalation_policy=1)
    )
    (webhook,) = capture_registrations(lambda: LevelWebhook("acme", url="https://x.invalid/k"))

    checked_source = server.check(
        server.urn(dynamic_type("ilert", "AlertSource"), "acme"), {}, source.plain_inputs
    )
    checked_webhook = server.check(
        server.urn(dynamic_type("level", "Webhook"), "acme"), {}, webhook.plain_inputs
    )

    ((prop, reason),) = checked_source.failures
    assert prop == ""
    assert reason.startswith("ilert:apiToken (stack config) contains a control character")
    ((prop, reason),) = checked_webhook.failures
    assert prop == ""
    assert reason.startswith("level:baseUrl (stack config) must not contain a user name")
    server.stop()  # drains stdout and stderr, so an absence below means something
    logs = server.logs
    for text in (str(checked_source.failures), str(checked_webhook.failures), logs):
        assert ILERT_TOKEN[3:] not in text and PASSWORD not in text and "Traceback" not in text
    assert sandbox.count() == 0
