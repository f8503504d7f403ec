"""ops/refresh_mode.py: refreshes run the program unless a rename waits for its `up` (the
engine fails on that: tests/cli/test_day_two.py shows `make up` performing one)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ops import refresh_mode

COMPONENT = "urn:pulumi:prod::level-ilert::level-ilert:index:LevelIlertIntegration::"
MOVED = (
    "config:\n  level-ilert:integrations:\n    - name: Level - Acme\n"
    "      resourceName: acme-2\n      previousResourceNames: [acme]\n"
)


class FakeExport:
    def __init__(self, urns: list[str], code: int = 0) -> None:
        self.urns, self.code, self.calls = urns, code, 0

    def __call__(self, args: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        self.calls += 1
        document = {"deployment": {"resources": [{"urn": urn} for urn in self.urns]}}
        return subprocess.CompletedProcess(args, self.code, json.dumps(document),
                                           "error: no stack named 'prod' found")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "pulumi").write_text("#!/bin/sh\n")
    (tmp_path / "bin" / "pulumi").chmod(0o755)
    return tmp_path


def env(project: Path) -> dict[str, str]:
    return {"PATH": str(project / "bin")}


def test_a_stack_without_previous_names_runs_the_program_and_reads_no_state(
    project: Path,
) -> None:
    (project / "Pulumi.prod.yaml").write_text("config:\n  level-ilert:integrations: []\n")
    export = FakeExport([])
    assert refresh_mode.decide("prod", project, env(project), run=export) == (True, "")
    assert export.calls == 0


def test_a_rename_waiting_for_its_up_keeps_the_program_out(project: Path) -> None:
    (project / "Pulumi.prod.yaml").write_text(MOVED)
    runs, why = refresh_mode.decide(
        "prod", project, env(project), run=FakeExport([COMPONENT + "acme", COMPONENT + "x"])
    )
    assert not runs
    assert "until its next `up` renames 'acme' (previousResourceNames)" in why


def test_a_rename_already_done_lets_the_program_run_again(project: Path) -> None:
    (project / "Pulumi.prod.yaml").write_text(MOVED)
    assert refresh_mode.decide(
        "prod", project, env(project), run=FakeExport([COMPONENT + "acme-2"])
    ) == (True, "")


def test_a_state_that_cannot_be_read_keeps_the_program_out_saying_why(project: Path) -> None:
    (project / "Pulumi.prod.yaml").write_text(MOVED)
    runs, why = refresh_mode.decide("prod", project, env(project), run=FakeExport([], 255))
    assert not runs
    assert "`pulumi stack export` failed: error: no stack named 'prod' found" in why
    runs, why = refresh_mode.decide("prod", project, {"PATH": "/nowhere"})
    assert not runs and "the Pulumi CLI is not on PATH" in why


def test_the_command_prints_true_or_false(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "Pulumi.prod.yaml").write_text("not: [valid")
    assert refresh_mode.main(["--stack", "prod", "--project-dir", str(project)]) == 0
    assert capsys.readouterr().out == "true\n"  # the program reports a bad file itself
