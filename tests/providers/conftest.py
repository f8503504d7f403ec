"""Providers configured as the engine configures them, against the per-test sandbox."""

from __future__ import annotations

import pytest
from pulumi.dynamic import Config, ConfigureRequest

from providers import inventory
from providers.ilert_alert_source import IlertAlertSourceProvider
from providers.level_webhook import LevelWebhookProvider
from sandbox import ILERT_TOKEN, LEVEL_API_KEY, Sandbox


def stack_config(sandbox: Sandbox) -> dict[str, str]:
    """The stack config the engine would pass: namespaced keys, string values."""
    return {
        "ilert:apiToken": ILERT_TOKEN,
        "ilert:baseUrl": sandbox.ilert_url,
        "level:apiKey": LEVEL_API_KEY,
        "level:baseUrl": sandbox.level_url,
    }


def new_command() -> None:
    """Start a new Pulumi command: the engine runs each in a new provider process, so the
    listings a process keeps (providers/inventory.py) start empty."""
    inventory.forget_all()


@pytest.fixture(autouse=True)
def _fresh_process() -> None:
    new_command()


@pytest.fixture
def alert_sources(sandbox: Sandbox) -> IlertAlertSourceProvider:
    provider = IlertAlertSourceProvider()
    provider.configure(ConfigureRequest(Config(stack_config(sandbox), "level-ilert")))
    return provider


@pytest.fixture
def webhooks(sandbox: Sandbox) -> LevelWebhookProvider:
    provider = LevelWebhookProvider()
    provider.configure(ConfigureRequest(Config(stack_config(sandbox), "level-ilert")))
    return provider
