"""A renamed integration that the engine would replace, explained from its own steps
(ops/renames.py): ``make preview`` and ``make up`` read the CLI's event log, the fleet the
Automation API's events. The real CLI's plan for a rename is tests/cli/test_first_hour.py."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from contextlib import redirect_stderr
from pathlib import Path
from typing import Any

import yaml

from ops import renames

PARENT = "level-ilert:index:LevelIlertIntegration"
SOURCE = f"{PARENT}$pulumi-python:dynamic/ilert:AlertSource"
WEBHOOK = f"{PARENT}$pulumi-python:dynamic/level:Webhook"


def _urn(kind: str, name: str) -> str:
    return f"urn:pulumi:dev::level-ilert::{kind}::{name}"


def _step(op: str, kind: str, name: str, inputs: Mapping[str, Any] | None = None) -> str:
    state = {"urn": _urn(kind, name), "inputs": dict(inputs or {})}
    metadata: dict[str, object] = {"op": op, "urn": _urn(kind, name),
                                   "type": kind.rsplit("$", 1)[-1]}
    metadata["new" if op == "create" else "old"] = state
    return json.dumps({"sequence": 1, "timestamp": 0, "resourcePreEvent": {"metadata": metadata}})


def _rename(old: str, new: str, policy: str = "Default", *, webhook: bool = True) -> list[str]:
    lines = [
        _step("create", SOURCE, f"level-{new.lower()}", {"name": f"Level - {new}",
                                                         "escalation_policy": policy}),
        _step("delete", SOURCE, f"level-{old.lower()}", {"name": f"Level - {old}",
                                                         "escalation_policy": policy}),
    ]
    if webhook:
        lines += [_step("create", WEBHOOK, f"level-{new.lower()}"),
                  _step("delete", WEBHOOK, f"level-{old.lower()}")]
    return lines


def test_a_name_change_is_explained_with_the_line_that_renames_in_place() -> None:
    steps = renames.steps_from_json(["not json", *_rename("Acme", "AcmeCorp")])

    (note,) = renames.explain(steps, ["Level - Globex", "Level - AcmeCorp"])

    assert note == (
        "level-ilert:integrations[1] ('Level - AcmeCorp', was 'Level - Acme') will be "
        "replaced, not renamed: its resource name changes from level-acme to level-acmecorp, "
        "so Pulumi makes a new ilert alert source, whose integration URL is new, and deletes "
        "the old one; the Level webhook is re-pointed to it (a new webhook; the old one is "
        "deleted). To rename it in place (same source, same URL), add this line to "
        "level-ilert:integrations[1]:\n    resourceName: level-acme\n(or "
        "previousResourceNames: [level-acme], which moves it to the new resource name)."
    )


def test_in_manual_mode_the_note_says_to_paste_the_new_url_and_after_up_that_it_was_done(
) -> None:
    steps = renames.steps_from_json(_rename("Acme", "AcmeCorp", webhook=False))

    (note,) = renames.explain(steps, [], done=True)

    assert note.startswith("level-ilert:integrations ('Level - AcmeCorp', was 'Level - Acme') "
                           "was replaced, not renamed")
    assert ("in manual mode, paste the new URL into the Level webhook (Settings > Webhooks), "
            "or Level keeps sending to the deleted source") in note


def test_only_a_create_with_a_delete_is_a_rename_and_each_takes_its_likeliest_partner() -> None:
    added = renames.steps_from_json([_step("create", SOURCE, "level-new", {"name": "New"})])
    removed = renames.steps_from_json([_step("delete", SOURCE, "level-old", {"name": "Old"})])
    updated = renames.steps_from_json([_step("update", SOURCE, "level-acme", {"name": "X"})])
    two = renames.steps_from_json([
        *_rename("Globex", "GlobexInc", "On-call")[:1],
        *_rename("Acme", "AcmeCorp", "Default")[:1],
        *_rename("Acme", "AcmeCorp", "Default")[1:2],
        *_rename("Globex", "GlobexInc", "On-call")[1:2],
    ])

    assert renames.explain(added, []) == []
    assert renames.explain(removed, []) == []
    assert renames.explain(updated, []) == []
    assert [(r.old_resource, r.new_resource) for r in renames.renames(two)] == [
        ("level-globex", "level-globexinc"), ("level-acme", "level-acmecorp"),
    ]


def test_the_command_reads_the_event_log_and_the_stack_file(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    log.write_text("\n".join(_rename("Acme", "AcmeCorp")) + "\n")
    config = {"level-ilert:integrations": [{"name": "Level - AcmeCorp"}]}
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": config}))
    err = io.StringIO()

    with redirect_stderr(err):
        assert renames.main(["--stack", "dev", "--project-dir", str(tmp_path), str(log)]) == 0
        assert renames.main(["--stack", "dev", str(tmp_path / "missing.jsonl")]) == 0

    assert err.getvalue().startswith(
        "\nnote: level-ilert:integrations[0] ('Level - AcmeCorp', was 'Level - Acme') will be "
        "replaced, not renamed")
