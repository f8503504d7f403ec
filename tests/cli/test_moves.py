"""An integration whose resources move to a new URN, through the real CLI: nothing is lost.

A changed ``resourceName`` makes the engine create the integration's resources under the new
name, then delete the old ones. Before stack_state's notes were shared by the deployment's
provider processes, the create took the old URN's objects over (with ``adopt: true``, or by
this stack's journal) and the old URN's delete then removed them: ``up`` exited 0 and
nothing was left to page anyone. Each story ends with exactly one source and one webhook
that point at each other, and a clean drift check.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox import Sandbox
from tests.cli.harness import Project

SOURCE = "pulumi-python:dynamic/ilert:AlertSource"
ACME: dict[str, Any] = {"name": "Level - Acme", "escalationPolicy": "Default"}


@pytest.fixture
def world() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def project(tmp_path: Path, world: Sandbox) -> Project:
    made = Project(tmp_path / "project", world)
    made.write_stack([{**ACME, "resourceName": "acme"}])
    made.init()
    made.up()
    return made


def wired(world: Sandbox) -> tuple[dict[str, Any], dict[str, Any]]:
    """The one source and the one webhook, which must point at it."""
    (source,) = world.ilert_alert_sources()
    (webhook,) = world.level_webhooks()
    assert webhook["url"] == source["integrationUrl"]
    return source, webhook


@pytest.mark.parametrize("adopt", [False, True], ids=["plain", "adopt"])
def test_a_new_resource_name_keeps_one_live_source_and_webhook(
    project: Project, world: Sandbox, adopt: bool
) -> None:
    project.write_stack([{**ACME, "resourceName": "acme-2", "adopt": adopt}])

    run = project.up()

    source, _ = wired(world)
    assert project.outputs()["acme-2"]["alertSourceId"] == str(source["id"])
    assert "acme" not in project.outputs()
    assert project.drift().code == 0, str(run)


def test_a_replace_without_refresh_never_deletes_the_source_its_webhook_uses(
    project: Project, world: Sandbox
) -> None:
    project.up("--refresh=false", "--replace", project.urn(SOURCE, "acme"))

    source, _ = wired(world)
    assert project.outputs()["acme"]["alertSourceId"] == str(source["id"])
    assert project.drift().code == 0
