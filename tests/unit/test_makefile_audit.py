"""make audit and make instructions: the command lines they run (make -n, nothing started)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def dry_run(*args: str) -> str:
    """The last command ``make -n`` would run (the ops command; the rest is the venv)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "PULUMI"))}
    done = subprocess.run(
        [str(MAKE), "--no-print-directory", "-s", "-n", "-C", str(ROOT), *args,
         "BACKEND_URL=file:///nowhere"],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )
    return " ".join(done.stdout.replace("\\\n", " ").split()).split("; ")[-1]


def test_audit_passes_its_options_and_judges_sandbox_stacks_at_once() -> None:
    real = dry_run("audit", "STACK=prod", "WINDOW=7d", "JSON=1", "INTEGRATION=Level - A")
    sandbox = dry_run("audit", "STACK=sandbox-manual")

    assert real.endswith(
        "-m ops audit --stack prod --integration 'Level - A' --json --window 7d"
    )
    assert "--settle" not in real  # real accounts: Level retries deliveries for minutes
    assert sandbox.endswith("-m ops audit --stack sandbox-manual --settle 0")
    assert dry_run("audit", "STACK=sandbox", "SETTLE=30").endswith("--settle 30")


def test_instructions_show_the_urls_only_when_asked() -> None:
    assert dry_run("instructions", "STACK=prod").endswith("-m ops instructions --stack prod")
    assert dry_run("instructions", "STACK=prod", "SHOW_SECRETS=1").endswith(
        "-m ops instructions --stack prod --show-secrets"
    )
