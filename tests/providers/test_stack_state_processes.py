"""A renamed integration, played as the real CLI runs it: one deployment, several provider
processes, the notes between them in the deployment's file (providers/stack_state.py).

The engine creates the renamed resource's webhook and deletes the old URN's one in other
provider processes than the refresh that read it. Each test here plays those processes one
after the other in this process (the per-process notes and listings forgotten in between),
as ``python -m pulumi.dynamic <engine address>`` would, and checks what is left in Level.
"""

from __future__ import annotations

import importlib.machinery
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from pulumi.dynamic import Config, ConfigureRequest

from providers import stack_state
from providers.engine_adapter import SERVER_MODULE
from providers.level_webhook import LevelWebhookProvider
from sandbox import Sandbox
from tests.providers.conftest import new_command, stack_config
from tests.providers.test_adoption import create_webhook, hand_made_source


@pytest.fixture(autouse=True)
def _one_deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every provider process of these tests serves one deployment of one engine."""
    main = types.ModuleType("__main__")
    main.__spec__ = importlib.machinery.ModuleSpec(SERVER_MODULE, None)
    monkeypatch.setitem(sys.modules, "__main__", main)
    monkeypatch.setattr(sys, "argv", ["/venv/lib/pulumi/dynamic/__main__.py", "127.0.0.1:46229"])
    monkeypatch.setenv(stack_state.ENV_DIR, str(tmp_path / "deployments"))
    yield
    stack_state.forget_all()


def provider_process(sandbox: Sandbox) -> LevelWebhookProvider:
    """Another provider process of the deployment: nothing of the last one in memory."""
    stack_state.forget_all()
    new_command()
    provider = LevelWebhookProvider()
    provider.configure(ConfigureRequest(Config(stack_config(sandbox), "level-ilert")))
    return provider


def test_a_webhook_taken_over_by_the_renamed_resource_outlives_the_old_urns_delete(
    sandbox: Sandbox,
) -> None:
    """``pulumi up --refresh=false`` after a rename: the new URN's create adopts the old
    URN's webhook, then the old URN's delete, in another process, must leave it alone."""
    url = hand_made_source(sandbox)["integrationUrl"]
    old = create_webhook(provider_process(sandbox), url=url, secret="hmac-1")

    new = create_webhook(provider_process(sandbox), url=url, secret="hmac-1", adopt=True)
    assert new.id == old.id
    provider_process(sandbox).delete(old.id, old.outs)

    (live,) = sandbox.level_webhooks()
    assert live["id"] == new.id and live["url"] == url and live["enabled"] is True


def test_a_webhook_the_refresh_read_is_replaced_not_taken_over_by_the_renamed_resource(
    sandbox: Sandbox,
) -> None:
    """``pulumi up`` (refresh first) after a rename: the refresh reads the old URN's webhook;
    the new URN's create, in another process, makes its own beside it instead of taking it
    (which the old URN's delete would then remove); that delete removes only the old one."""
    url = hand_made_source(sandbox)["integrationUrl"]
    old = create_webhook(provider_process(sandbox), url=url, secret="hmac-1")
    refreshed = provider_process(sandbox).read(old.id, old.outs)
    assert refreshed.id == old.id

    new = create_webhook(provider_process(sandbox), url=url, secret="hmac-1", adopt=True)
    assert new.id != old.id
    provider_process(sandbox).delete(old.id, old.outs)

    (live,) = sandbox.level_webhooks()
    assert live["id"] == new.id and live["url"] == url
