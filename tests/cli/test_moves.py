"""An integration whose resources move, through the real CLI: nothing is lost, nothing doubled.

Without any file beside Pulumi's state, each move is carried by Pulumi's own mechanisms:

- a changed ``resourceName`` with the old one in ``previousResourceNames``: Pulumi aliases,
  so the objects move in the state, with no request that writes;
- a changed ``resourceName`` with ``adopt: true`` instead: the engine creates the new
  resources first, which take the objects over, then deletes the old ones in the same
  provider process, which leaves an object a create of that process took over;
- a changed ``resourceName`` with neither: the create refuses the object it finds and names
  ``previousResourceNames``; nothing is deleted;
- ``pulumi up --replace <source>``: ``deleteBeforeReplace``, so the old source (a leaked URL)
  goes first, the new one is made, and the webhook is re-pointed in place.

Each story ends with exactly one source and one webhook that point at each other, and a
clean drift check.
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


def writes(world: Sandbox) -> list[str]:
    """Every request of the sandbox's log that is not a read, as ``METHOD path``."""
    return [
        f"{entry.method} {entry.path}" for entry in world.requests if entry.method != "GET"
    ]


def test_a_new_resource_name_with_the_old_one_as_previous_moves_nothing(
    project: Project, world: Sandbox
) -> None:
    before = wired(world)
    project.write_stack(
        [{**ACME, "resourceName": "acme-2", "previousResourceNames": ["acme"]}]
    )
    world.requests.clear()

    run = project.up()

    assert wired(world) == before, str(run)
    assert [w for w in writes(world) if "write-probe" not in w] == []
    assert project.outputs()["acme-2"]["alertSourceId"] == str(before[0]["id"])
    assert "acme" not in project.outputs()
    assert project.drift().code == 0


def test_a_new_resource_name_with_adopt_keeps_the_same_objects(
    project: Project, world: Sandbox
) -> None:
    before_source, before_webhook = wired(world)
    project.write_stack([{**ACME, "resourceName": "acme-2", "adopt": True}])

    run = project.up()

    source, webhook = wired(world)
    assert (source["id"], webhook["id"]) == (before_source["id"], before_webhook["id"])
    assert source["integrationUrl"] == before_source["integrationUrl"], "the URL must stay"
    assert project.outputs()["acme-2"]["alertSourceId"] == str(source["id"])
    assert "acme" not in project.outputs()
    assert "another resource of this stack took it over in this run" in run.out
    assert not [w for w in writes(world) if w.startswith("DELETE")]
    assert project.drift().code == 0


def test_a_new_resource_name_alone_is_refused_naming_the_way_to_move(
    project: Project, world: Sandbox
) -> None:
    before = wired(world)
    project.write_stack([{**ACME, "resourceName": "acme-2"}])
    world.requests.clear()

    run = project.pulumi("up", "--yes", "--stack", project.stack)

    assert run.code != 0
    assert "ilert already has an alert source named 'Level - Acme'" in run.out
    assert "`previousResourceNames`" in run.out
    assert wired(world) == before
    assert not [w for w in writes(world) if w.startswith(("DELETE", "POST /api"))]
    assert "acme" in project.outputs()


@pytest.mark.parametrize("refresh", ["--refresh=true", "--refresh=false"])
def test_a_replaced_source_goes_first_and_its_webhook_is_re_pointed(
    project: Project, world: Sandbox, refresh: str
) -> None:
    old_source, old_webhook = wired(world)
    world.requests.clear()

    project.up(refresh, "--replace", project.urn(SOURCE, "acme"))

    source, webhook = wired(world)
    assert source["id"] != old_source["id"]
    assert source["integrationUrl"] != old_source["integrationUrl"]
    assert webhook["id"] == old_webhook["id"], "the webhook is updated in place"
    order = [w for w in writes(world) if "write-probe" not in w]
    assert order == [
        f"DELETE /api/alert-sources/{old_source['id']}",
        "POST /api/alert-sources",
        f"PATCH /v2/webhooks/{webhook['id']}",
    ], order
    assert project.outputs()["acme"]["alertSourceId"] == str(source["id"])
    assert project.drift().code == 0
