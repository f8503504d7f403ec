"""Stack files as users write them, through the real CLI: config errors, credentials, manual
mode."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import Sandbox
from tests.cli.harness import Project


@pytest.fixture
def world() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def project(tmp_path: Path, world: Sandbox) -> Project:
    made = Project(tmp_path / "project", world)
    made.write_stack([{"name": "Level - Acme", "escalationPolicy": "Default"}])
    made.init()
    return made


def test_a_bad_stack_file_fails_preview_naming_each_key_and_creates_nothing(
    project: Project, world: Sandbox
) -> None:
    project.write_stack(
        [{"name": "Level - Acme", "escalationPolicy": "Default",
          "alertCreation": "ONE_ALERT_GROUPED_PER_WINDOW"}],
        config={"level:webhookMangement": "api"},
    )

    preview = project.preview()
    up = project.pulumi("up", "--yes", "--stack", project.stack)

    for run in (preview, up):
        assert run.code != 0, str(run)
        assert "Invalid stack config:" in run.out
        assert "level:webhookMangement is not a setting of this project" in run.out
        assert "did you mean level:webhookManagement?" in run.out
        assert "level-ilert:integrations[0].alertGroupingWindow: alertGroupingWindow is " \
               "required when alertCreation is ONE_ALERT_GROUPED_PER_WINDOW" in run.out
        assert "Traceback" not in run.out
    assert world.count(method="POST") == 0
    assert world.ilert_alert_sources() == [] and world.level_webhooks() == []


def test_a_missing_credential_names_the_config_key_and_the_env_var(
    project: Project, world: Sandbox
) -> None:
    project.env.pop("ILERT_API_TOKEN")

    run = project.pulumi("up", "--yes", "--stack", project.stack)

    assert run.code != 0, str(run)
    assert "ilert:apiToken" in run.out and "ILERT_API_TOKEN" in run.out
    assert "Traceback" not in run.out
    assert "Updating (" not in run.out  # stopped by the preview's preflight
    assert world.count("ilert") == 0
    assert world.ilert_alert_sources() == [] and world.level_webhooks() == []


def test_manual_mode_never_calls_level_and_outputs_the_ui_steps(
    project: Project, world: Sandbox
) -> None:
    project.write_stack(
        [{"name": "Level - Acme", "escalationPolicy": "Default"}],
        config={"level:webhookManagement": "manual", "level:baseUrl": None},
    )
    project.env.pop("LEVEL_API_KEY")  # manual mode needs no Level key, and refuses Level keys
    world.requests.clear()

    project.up()
    outputs = project.outputs()

    assert world.count("level") == 0
    assert world.level_webhooks() == []
    (source,) = world.ilert_alert_sources()
    instructions = outputs["level-acme"]["setupInstructions"]
    assert "In Level, open Settings > Webhooks and click + Add webhook." in instructions
    assert '"Alert active" and "Alert resolved"' in instructions
    assert outputs["level-acme"]["integrationUrl"] == "[secret]"
    assert source["integrationUrl"] not in "\n".join(project.printed)
    assert project.drift().code == 0
    assert world.count("level") == 0


def test_switching_to_manual_mode_deletes_the_stacks_webhook_at_the_stacks_level_url(
    project: Project, world: Sandbox
) -> None:
    project.up()
    (webhook,) = world.level_webhooks()
    project.write_stack(
        [{"name": "Level - Acme", "escalationPolicy": "Default"}],
        config={"level:webhookManagement": "manual"},  # level:baseUrl stays, as the README says
    )
    world.requests.clear()

    switch = project.up()

    deletes = [(r.service, r.method, r.path) for r in world.requests if r.method == "DELETE"]
    assert deletes == [("level", "DELETE", f"/v2/webhooks/{webhook['id']}")]
    assert world.level_webhooks() == [] and len(world.ilert_alert_sources()) == 1
    assert "is set while level:webhookManagement is manual" not in switch.out  # read by ops
    assert "setupInstructions" in project.outputs()["level-acme"]

    project.write_stack(  # once the webhook is gone, the key can go
        [{"name": "Level - Acme", "escalationPolicy": "Default"}],
        config={"level:webhookManagement": "manual", "level:baseUrl": None},
    )
    world.requests.clear()
    after = project.up()
    assert world.count("level") == 0
    assert "level:baseUrl" not in after.out
