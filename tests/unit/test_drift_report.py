"""tools.drift_report: the JSON fallback that tells drift from failure on any Pulumi CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tools.drift_report import EXIT_DRIFT, EXIT_NO_DRIFT, EXIT_USAGE, main

URN = (
    "urn:pulumi:dev::level-ilert::level-ilert:index:LevelIlertIntegration"
    "$pulumi-python:dynamic/level:Webhook::acme"
)


def write(tmp_path: Path, preview: Any) -> str:
    path = tmp_path / "preview.json"
    path.write_text(json.dumps(preview), encoding="utf-8")
    return str(path)


def test_only_same_and_read_steps_is_no_drift(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    preview = {"changeSummary": {"same": 5, "read": 2}, "steps": [{"op": "same", "urn": URN}]}

    assert main([write(tmp_path, preview)]) == EXIT_NO_DRIFT
    assert capsys.readouterr().out.strip() == "no drift"


def test_an_update_is_drift_and_names_the_resource_and_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    preview = {
        "changeSummary": {"same": 4, "update": 1},
        "steps": [
            {"op": "update", "urn": URN, "detailedDiff": {"enabled": {"kind": "update"}}},
            {"op": "same", "urn": "urn:x"},
        ],
    }

    assert main([write(tmp_path, preview)]) == EXIT_DRIFT
    out = capsys.readouterr().out
    assert "drift: 1 to update" in out
    assert "update level:Webhook acme: enabled" in out
    assert "urn:x" not in out


def test_refresh_steps_are_reads_and_only_the_drifted_properties_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # What CLI v3.274.1 prints for a webhook whose URL was changed by hand (trimmed).
    preview = {
        "changeSummary": {"same": 6, "update": 1},
        "steps": [
            {"op": "refresh", "urn": URN},
            {"op": "update", "urn": URN, "diffReasons": ["url"],
             "detailedDiff": {"url": {"kind": "update", "inputDiff": False}},
             "oldState": {"outputs": {"url": "[secret]"}}},
        ],
    }

    assert main([write(tmp_path, preview)]) == EXIT_DRIFT
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["drift: 1 to update", "  update level:Webhook acme: url"]


def test_a_resource_deleted_by_hand_shows_as_create(tmp_path: Path) -> None:
    preview = {"changeSummary": {"create": 1, "same": 3}, "steps": [{"op": "create", "urn": URN}]}

    assert main([write(tmp_path, preview)]) == EXIT_DRIFT


@pytest.mark.parametrize("content", [{"diagnostics": [{"message": "401"}]}, ["not", "a"]])
def test_a_failed_preview_is_not_mistaken_for_no_drift(tmp_path: Path, content: Any) -> None:
    assert main([write(tmp_path, content)]) == EXIT_USAGE


def test_missing_file_and_bad_usage(tmp_path: Path) -> None:
    assert main([str(tmp_path / "absent.json")]) == EXIT_USAGE
    assert main([]) == EXIT_USAGE


HOSTILE_NAMES = [
    "acme\n```\n@org/admins see https://attacker.example",   # close the code block, ping
    "acme\r\n## Drift fixed, close this issue",
    "acme\u2028```",                                         # a line separator, then a fence
    "acme`` `rm -rf`",
    "東京オフィス",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_names_and_property_paths_are_written_as_data_inside_the_code_block(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    """The report goes into a ``` block of the job summary and the drift issue's body: a
    resource name (resourceName is free text) or a property path must not end it."""
    preview = {
        "changeSummary": {"update": 2},
        "steps": [
            {"op": "update", "urn": URN.replace("::acme", f"::{name}"),
             "detailedDiff": {f"fields[\"{name}\"]": {"kind": "update"}}},
            {"op": "update", "urn": URN, "diffReasons": [name]},
        ],
    }

    assert main([write(tmp_path, preview)]) == EXIT_DRIFT
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 3  # the verdict and one line per changed resource
    assert not any(line.lstrip().startswith(("```", "~~~", "#", "@")) for line in lines)
    assert "`" not in out
    if name == "東京オフィス":
        assert "東京オフィス" in out  # other scripts stay as they are
