"""A stack file pointing at the per-test sandbox, provisioned by the providers as `up` would."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi.dynamic import Config, ConfigureRequest

from components.settings import load_settings
from ops.__main__ import main
from ops.ids import Outputs
from providers.ilert_alert_source import IlertAlertSourceProvider
from providers.level_webhook import LevelWebhookProvider
from sandbox import ILERT_TOKEN, LEVEL_API_KEY, Sandbox
from tests.providers.conftest import stack_config

STACK = "test"
LOOKUP = Outputs(None, "lookup by name and URL (tests)")
# Routed as an MSP would (the sandbox's seeded clients): each Level alert pages once.
INTEGRATIONS: list[dict[str, Any]] = [
    {
        "name": "Level - Acme",
        "escalationPolicy": "Default",
        "alertCreation": "ONE_ALERT_GROUPED_PER_WINDOW",
        "alertGroupingWindow": "PT5M",
        "deviceGroups": ["Acme Corp"],
    },
    {"name": "Level - Servers", "escalationPolicy": 2, "deviceGroups": ["Globex"]},
]


@dataclass
class Provisioned:
    """One integration as `up` left it."""

    source_id: int
    url: str
    webhook_id: str  # "" in manual mode


@dataclass
class Project:
    """A project folder with ``Pulumi.test.yaml`` against the sandbox."""

    path: Path
    sandbox: Sandbox
    objects: dict[str, Provisioned]

    def run(
        self, *argv: str, outputs: Outputs | None = LOOKUP, **kwargs: Any
    ) -> tuple[int, str, str]:
        """``python -m ops <argv> --stack test``: exit code, stdout, stderr."""
        out, err = io.StringIO(), io.StringIO()
        code = main(
            [*argv, "--stack", STACK, "--project-dir", str(self.path)],
            out=out, err=err, outputs=outputs, **kwargs,
        )
        return code, out.getvalue(), err.getvalue()

    def doctor(self, *argv: str) -> tuple[int, dict[str, Any]]:
        """Doctor's exit code and its JSON document."""
        code, out, _ = self.run("doctor", "--json", *argv)
        return code, json.loads(out)


def write_stack(
    path: Path, sandbox: Sandbox, integrations: list[dict[str, Any]], management: str = "api"
) -> None:
    (path / "Pulumi.yaml").write_text("name: level-ilert\nruntime: python\n")
    config = {
        "ilert:baseUrl": sandbox.ilert_url,
        "level:baseUrl": sandbox.level_url,
        "level:webhookManagement": management,
        "level-ilert:integrations": integrations,
    }
    (path / f"Pulumi.{STACK}.yaml").write_text(yaml.safe_dump({"config": config}))


def provision(
    sandbox: Sandbox,
    integrations: list[dict[str, Any]],
    management: str = "api",
    *,
    check_routing: bool = True,
) -> dict[str, Provisioned]:
    """Create every object with the providers, as `pulumi up` would."""
    config = ConfigureRequest(Config(stack_config(sandbox), "level-ilert"))
    sources, webhooks = IlertAlertSourceProvider(), LevelWebhookProvider()
    sources.configure(config)
    webhooks.configure(config)
    settings = load_settings(
        {"level-ilert:integrations": integrations}.get, lambda _key: None,
        check_routing=check_routing,
    )
    objects = {}
    for integration in settings.integrations:
        source = sources.create(sources.check({}, integration.alert_source_inputs()).inputs)
        assert source.outs is not None
        url = source.outs["integration_url"]
        webhook_id = ""
        if management == "api":
            created = webhooks.create(
                webhooks.check({}, integration.webhook_inputs(url)).inputs
            )
            webhook_id = created.id
        objects[integration.name] = Provisioned(int(source.id), url, webhook_id)
    return objects


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox's credentials in the environment, as the Makefile exports them."""
    monkeypatch.setenv("ILERT_API_TOKEN", ILERT_TOKEN)
    monkeypatch.setenv("LEVEL_API_KEY", LEVEL_API_KEY)
    for name in ("ILERT_BASE_URL", "LEVEL_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def project(tmp_path: Path, sandbox: Sandbox, credentials: None) -> Project:
    """Two integrations provisioned in api mode, with a stack file that describes them."""
    write_stack(tmp_path, sandbox, INTEGRATIONS)
    return Project(tmp_path, sandbox, provision(sandbox, INTEGRATIONS))
