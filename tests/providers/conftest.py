"""Providers configured as the engine configures them, against the per-test sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

import pytest
from pulumi.dynamic import Config, ConfigureRequest

from providers.ilert_alert_source import IlertAlertSourceProvider
from providers.level_webhook import LevelWebhookProvider
from providers.provider_base import ConfiguredProvider
from sandbox import ILERT_TOKEN, LEVEL_API_KEY, Sandbox

Provider = TypeVar("Provider", bound=ConfiguredProvider)


def stack_config(sandbox: Sandbox) -> dict[str, str]:
    """The stack config the engine would pass: namespaced keys, string values."""
    return {
        "ilert:apiToken": ILERT_TOKEN,
        "ilert:baseUrl": sandbox.ilert_url,
        "level:apiKey": LEVEL_API_KEY,
        "level:baseUrl": sandbox.level_url,
    }


_CONFIGURED: list[tuple[ConfiguredProvider, ConfigureRequest]] = []


def configured(provider: Provider, config: dict[str, str]) -> Provider:
    """``provider`` configured as the engine configures it (remembered for ``new_command``)."""
    request = ConfigureRequest(Config(config, "level-ilert"))
    provider.configure(request)
    _CONFIGURED.append((provider, request))
    return provider


def new_command() -> None:
    """Start a new Pulumi command: the engine runs each in a new provider process, whose
    provider objects start with nothing shared (no listing, no client): each provider this
    test configured is configured again, which drops what it had built."""
    for provider, request in _CONFIGURED:
        provider.configure(request)


@pytest.fixture(autouse=True)
def _fresh_process() -> Iterator[None]:
    yield
    _CONFIGURED.clear()


@pytest.fixture
def alert_sources(sandbox: Sandbox) -> IlertAlertSourceProvider:
    return configured(IlertAlertSourceProvider(), stack_config(sandbox))


@pytest.fixture
def webhooks(sandbox: Sandbox) -> LevelWebhookProvider:
    return configured(LevelWebhookProvider(), stack_config(sandbox))
