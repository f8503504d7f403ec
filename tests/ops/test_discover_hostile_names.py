"""Names from the APIs are written as data (issue 27.1): a hostile admin's team, policy,
source or group name adds no key to the stack file discover writes, and names in other
scripts come through intact.

The setup is tests/hostile.py: names with line breaks followed by ``ilert:baseUrl:`` /
``level:baseUrl:`` keys, ``#``, ``:``, anchors and aliases, flow syntax, YAML 1.1 booleans,
terminal escapes, very long names, Japanese, Arabic, Cyrillic and Devanagari. The real
``make discover`` and a ``make preview`` of the written file run in
tests/cli/test_discover_hostile_names.py; this is the same proof without the CLI.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from ruamel.yaml import YAML

from ops.__main__ import main
from ops.discover_yaml import dump, plain, reads_back
from sandbox import ILERT_TOKEN, LEVEL_API_KEY, Sandbox
from tests.hostile import INJECTED_PORT, KEPT_OUT, NON_LATIN, TAKEN, Hostile, seed

STACK = "sandbox-hostile"
WRITTEN_KEYS = {"ilert:baseUrl", "level:baseUrl", "level:webhookManagement",
                "level-ilert:integrations"}


@pytest.fixture(scope="module")
def hostile() -> Iterator[tuple[Sandbox, Hostile]]:
    with Sandbox() as sandbox:
        yield sandbox, seed(sandbox)


@pytest.fixture(scope="module")
def written(
    hostile: tuple[Sandbox, Hostile], tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, dict[str, Any]]:
    """The stack file discover wrote and its --json report."""
    sandbox, _ = hostile
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "Pulumi.yaml").write_text("name: level-ilert\nruntime: python\n")
    env = {"ILERT_BASE_URL": sandbox.ilert_url, "LEVEL_BASE_URL": sandbox.level_url,
           "ILERT_API_TOKEN": ILERT_TOKEN, "LEVEL_API_KEY": LEVEL_API_KEY}
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        code = main(["discover", "--stack", STACK, "--project-dir", str(folder), "--json"],
                    out=out, err=err)
    assert code == 0, err.getvalue()
    path = folder / f"Pulumi.{STACK}.yaml"
    return path.read_text(encoding="utf-8"), json.loads(out.getvalue())


def test_the_file_holds_exactly_the_keys_discover_meant(
    written: tuple[str, dict[str, Any]], hostile: tuple[Sandbox, Hostile]
) -> None:
    text, report = written
    sandbox, _ = hostile

    for document in (yaml.safe_load(text), plain(YAML().load(text))):  # YAML 1.1 and 1.2
        assert set(document) == {"config"}
        config = document["config"]
        assert set(config) == WRITTEN_KEYS
        assert config["ilert:baseUrl"] == sandbox.ilert_url
        assert config["level:baseUrl"] == sandbox.level_url
        # Every entry exactly as discover meant it (its --json report), key for key.
        assert config["level-ilert:integrations"] == report["integrations"]


def test_every_source_is_written_with_its_exact_name_or_kept_out(
    written: tuple[str, dict[str, Any]],
) -> None:
    text, report = written
    entries = yaml.safe_load(text)["config"]["level-ilert:integrations"]

    assert [entry["name"] for entry in entries] == [case.source for case in TAKEN]
    assert {kept["name"] for kept in report["keptOut"]} == {case.source for case in KEPT_OUT}
    for name in NON_LATIN:
        for word in name.split():  # a long name may be folded at a space
            assert word in text  # written as it is, not as escapes
    by_name = {entry["name"]: entry for entry in entries}
    assert by_name["Level - Дежурный центр"]["escalationPolicy"] == "*anchor"
    assert by_name["Level - Дежурный центр"]["deviceGroups"] == ["[x], y"]
    assert by_name["Level - हिन्दी टीम"]["escalationPolicy"] == "yes"  # not True
    assert by_name["Level - हिन्दी टीम"]["deviceGroups"] == ["? k: v"]  # not a mapping
    assert by_name["Level - 東京オフィス"]["escalationPolicy"] == "Дежурство"
    assert by_name["Level - 東京オフィス"]["deviceGroups"] == ["Zürich 東京"]


def test_the_injected_keys_sit_in_comments_as_escapes(written: tuple[str, dict[str, Any]]) -> None:
    text, _ = written
    injected = [line for line in text.splitlines() if str(INJECTED_PORT) in line]

    assert injected  # the names did reach the file (their comments say where a key points)
    for line in injected:
        assert line.index("#") < line.index(str(INJECTED_PORT)), line
        assert "\\n  ilert:baseUrl" in line or "\\n  level:baseUrl" in line, line
    assert "\x1b" not in text and "\x85" not in text and "\u2028" not in text
    assert text.splitlines() == text.split("\n")[:-1]  # no line break but \n


def test_print_writes_the_same_entries_as_data(hostile: tuple[Sandbox, Hostile],
                                               tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox, _ = hostile
    for name, value in (("ILERT_BASE_URL", sandbox.ilert_url),
                        ("LEVEL_BASE_URL", sandbox.level_url),
                        ("ILERT_API_TOKEN", ILERT_TOKEN), ("LEVEL_API_KEY", LEVEL_API_KEY)):
        monkeypatch.setenv(name, value)
    (tmp_path / "Pulumi.yaml").write_text("name: level-ilert\nruntime: python\n")
    out, err = io.StringIO(), io.StringIO()

    code = main(["discover", "--stack", STACK, "--project-dir", str(tmp_path), "--print"],
                out=out, err=err)

    assert code == 0, err.getvalue()
    block = yaml.safe_load("config:\n" + out.getvalue())["config"]
    assert set(block) == {"level-ilert:integrations"}
    assert [e["name"] for e in block["level-ilert:integrations"]] == [c.source for c in TAKEN]


def _run(sandbox: Sandbox, folder: Path, monkeypatch: pytest.MonkeyPatch,
         *argv: str) -> tuple[int, str, str]:
    for name, value in (("ILERT_BASE_URL", sandbox.ilert_url),
                        ("LEVEL_BASE_URL", sandbox.level_url),
                        ("ILERT_API_TOKEN", ILERT_TOKEN), ("LEVEL_API_KEY", LEVEL_API_KEY)):
        monkeypatch.setenv(name, value)
    (folder / "Pulumi.yaml").write_text("name: level-ilert\nruntime: python\n")
    out, err = io.StringIO(), io.StringIO()
    code = main(["discover", "--stack", STACK, "--project-dir", str(folder), *argv],
                out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_the_summary_prints_each_name_on_one_line_without_terminal_escapes(
    hostile: tuple[Sandbox, Hostile], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = _run(hostile[0], tmp_path, monkeypatch)

    assert code == 0, err
    assert not any(char in out for char in "\x1b\x07\x85\u2028\u2029\r")
    assert "\n  ilert:baseUrl" not in out  # shown as \n, not as a line of its own


@pytest.mark.parametrize("broken", ["comment", "data"])
def test_a_writer_that_lets_a_name_through_writes_nothing(
    hostile: tuple[Sandbox, Hostile], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    broken: str,
) -> None:
    """The read-back check is the last line: were a comment or a value written raw (as
    before this issue), the file would hold keys nobody wrote, so nothing is written."""
    import ops.discover_yaml

    monkeypatch.setattr(ops.discover_yaml, broken, lambda value: value)

    code, _, err = _run(hostile[0], tmp_path, monkeypatch)

    assert code == 2
    assert err.startswith("Nothing written: the stack file discover built does not read back")
    assert not (tmp_path / f"Pulumi.{STACK}.yaml").exists()


def test_the_read_back_names_a_key_nobody_wrote() -> None:
    """The issue's path: a line break in a comment that YAML reads as one more config key."""
    meant = {"config": {"level-ilert:integrations": [{"name": "Level - A", "teams": [3]}]}}
    injected = ("config:\n  level-ilert:integrations:\n    - name: Level - A\n"
                "      teams: [3]  # Ops\n  ilert:baseUrl: https://collector.example\n")

    assert reads_back(meant, injected) == (
        "PyYAML reads a key 'config.ilert:baseUrl' that was not written")
    assert reads_back(meant, dump(meant)) is None
