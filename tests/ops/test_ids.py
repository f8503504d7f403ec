"""Where ids come from: `pulumi stack output` when the CLI is there, else the lookup."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from clients.level import Webhook
from ops.ids import Outputs, edit_distance, find_webhook, stack_outputs, with_created
from tests.ops.conftest import Project

URL = "https://api.ilert.com/api/v1/events/levelio/il1levabcdef0123456789"


def fake_pulumi(folder: Path, stdout: str, code: int = 0) -> Path:
    """A `pulumi` on PATH that records its arguments and prints ``stdout``."""
    script = folder / "pulumi"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > "{folder}/args"\n'
        f"cat <<'JSON'\n{stdout}\nJSON\n"
        f'[ {code} = 0 ] || echo "error: no stack named test found" >&2\n'
        f"exit {code}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return folder


def test_without_the_cli_ids_come_from_the_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = stack_outputs("test", which=lambda _name: None)

    assert outputs.by_name is None
    assert outputs.origin == "lookup by name and URL (the Pulumi CLI is not on PATH)"


def test_with_the_cli_ids_come_from_the_stack_outputs(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme = project.objects["Level - Acme"]
    printed = json.dumps({
        "level-acme": {
            "alertSourceId": str(acme.source_id), "integrationUrl": "[secret]",
            "webhookId": acme.webhook_id,
        },
    })
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{fake_pulumi(bin_dir, printed)}{os.pathsep}{os.environ['PATH']}")

    outputs = stack_outputs("test")
    code, out, _ = project.run("doctor", "--integration", "level-acme", outputs=outputs)

    assert (bin_dir / "args").read_text().split() == [
        "stack", "output", "--json", "--stack", "test", "--non-interactive",
    ]
    assert code == 0, out
    assert "ids from pulumi stack output" in out
    assert f"✓ Level webhook exists: {acme.webhook_id} (pulumi stack output)" in out


def test_a_webhook_in_the_outputs_but_deleted_in_level_is_reported_gone(
    project: Project, tmp_path: Path
) -> None:
    from ops.ids import Outputs

    acme = project.objects["Level - Acme"]
    project.sandbox.level_delete_webhook(acme.webhook_id)
    outputs = Outputs(
        {"level-acme": {"alertSourceId": acme.source_id, "webhookId": acme.webhook_id}},
        "pulumi stack output",
    )

    code, out, _ = project.run("doctor", "--integration", "Level - Acme", outputs=outputs)

    assert code == 1
    assert (
        f"✗ Level webhook {acme.webhook_id} (from pulumi stack output) no longer exists: Level "
        "sends this integration's alerts nowhere"
    ) in out
    assert "fix: `make up STACK=test` creates it" in out


def test_a_failing_cli_falls_back_to_the_lookup_and_says_why(tmp_path: Path) -> None:
    fake_pulumi(tmp_path, "", code=255)

    outputs = stack_outputs("test", which=lambda _name: str(tmp_path / "pulumi"))

    assert outputs.by_name is None
    assert outputs.origin == (
        "lookup by name and URL (pulumi stack output failed: error: no stack named test found)"
    )


def hook(hook_id: str, url: str) -> Webhook:
    return Webhook(id=hook_id, url=url)


def test_the_lookup_prefers_the_exact_url_then_the_nearest_one() -> None:
    other_source = URL[:-22] + "zzzzzzzzzzzzzzzzzzzzzz"
    typo = URL[:-3] + "X" + URL[-2:]

    assert find_webhook(URL, [hook("a", typo), hook("b", URL)]) == hook("b", URL)
    assert find_webhook(URL, [hook("a", other_source), hook("b", typo)]) == hook("b", typo)
    assert find_webhook(URL, [hook("a", other_source)]) is None
    assert find_webhook(URL, [hook("a", f" {URL}\n")]) == hook("a", f" {URL}\n")


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [("abc", "abc", 0), ("abc", "abd", 1), ("abc", "ab", 1), ("abc", "xyz", 3), ("a", "abcdef", 4)],
)
def test_edit_distance_is_capped_at_the_limit_plus_one(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b, 3) == distance


EXPORT = {"version": 3, "deployment": {"resources": [
    {"urn": "urn:pulumi:test::level-ilert::pulumi:pulumi:Stack::level-ilert-test",
     "created": "2026-12-01T08:00:00.000000000Z"},
    {"urn": "urn:pulumi:test::level-ilert::level-ilert:index:LevelIlertIntegration::acme",
     "created": "2026-12-01T08:00:01.000000000Z"},
    {"urn": "urn:pulumi:test::level-ilert::level-ilert:index:LevelIlertIntegration$"
            "pulumi-python:dynamic/ilert:AlertSource::acme",
     "created": "2026-12-07T09:30:00.123456789Z"},  # replaced today: a new source, a new URL
    {"urn": "urn:pulumi:test::level-ilert::level-ilert:index:LevelIlertIntegration$"
            "pulumi-python:dynamic/level:Webhook::acme",
     "created": "2026-12-01T08:00:03.000000000Z"},
    {"urn": "urn:pulumi:test::level-ilert::level-ilert:index:LevelIlertIntegration$"
            "pulumi-python:dynamic/ilert:AlertSource::globex"},  # made before Pulumi said when
]}}


def test_the_audit_learns_when_each_source_was_made_from_the_state(tmp_path: Path) -> None:
    fake_pulumi(tmp_path, json.dumps(EXPORT))
    found = Outputs(None, "lookup by name and URL")

    outputs = with_created(found, "test", which=lambda _name: str(tmp_path / "pulumi"))

    assert outputs.created == {"acme": datetime(2026, 12, 7, 9, 30, 0, 123456, tzinfo=UTC)}
    assert (tmp_path / "args").read_text().split() == [
        "stack", "export", "--stack", "test", "--non-interactive"]


def test_without_a_readable_state_every_alert_is_judged(tmp_path: Path) -> None:
    fake_pulumi(tmp_path, "", code=255)
    found = Outputs(None, "lookup by name and URL")

    assert with_created(found, "test", which=lambda _name: str(tmp_path / "pulumi")) == found
    assert with_created(found, "test", which=lambda _name: None) == found
