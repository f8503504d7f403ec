"""make instructions: each integration's Level UI steps as plain numbered text (issue 28)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ops.__main__ import main
from sandbox import Sandbox
from tests.ops.conftest import INTEGRATIONS, STACK, Project, provision, write_stack


def run(path: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["instructions", *argv, "--stack", STACK, "--project-dir", str(path)],
                out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def manual(tmp_path: Path, sandbox: Sandbox, credentials: None) -> Project:
    write_stack(tmp_path, sandbox, INTEGRATIONS, management="manual")
    return Project(tmp_path, sandbox, provision(sandbox, INTEGRATIONS, management="manual"))


def test_the_steps_are_plain_numbered_text_without_the_secret_url(manual: Project) -> None:
    manual.sandbox.requests.clear()

    code, out, _ = run(manual.path)

    assert code == 0
    assert "\\n" not in out and '\\"' not in out  # no JSON escapes
    assert out.startswith("Level webhook for ilert alert source 'Level - Acme' (manual mode):\n"
                          "  1. Copy the ilert webhook URL: make outputs STACK=test "
                          "SHOW_SECRETS=1\n")
    assert "  6. Scope it to device groups: tick only 'Acme Corp' (the groups below them are\n" in (
        out
    )
    assert "Level webhook for ilert alert source 'Level - Servers' (manual mode):" in out
    assert "  9. Check it: make verify STACK=test waits for your test alert" in out
    for provisioned in manual.objects.values():
        assert provisioned.url not in out
    assert out.rstrip().endswith(
        "The URLs are secrets: `make instructions STACK=test SHOW_SECRETS=1` puts each one into "
        "its step 1."
    )
    assert manual.sandbox.count() == 0  # the stack file is enough: no API is called


def test_show_secrets_puts_each_url_into_its_first_step(manual: Project) -> None:
    code, out, _ = run(manual.path, "--show-secrets")

    assert code == 0
    for provisioned in manual.objects.values():
        assert ("  1. Copy this ilert webhook URL exactly, without spaces (it is a secret):\n"
                f"     {provisioned.url}\n") in out
    assert manual.sandbox.count("level") == 0


def test_json_holds_the_same_text(manual: Project) -> None:
    code, out, _ = run(manual.path, "--json", "--integration", "Level - Acme")

    document = json.loads(out)
    assert code == 0
    assert list(document["integrations"]) == ["Level - Acme"]
    assert document["integrations"]["Level - Acme"].splitlines()[1].startswith("  1. Copy")


def test_an_api_mode_stack_says_the_stack_makes_the_webhooks(project: Project) -> None:
    code, out, _ = run(project.path)

    assert code == 0
    assert out.startswith("Stack test is in api mode: `make up` makes these webhooks itself.")
