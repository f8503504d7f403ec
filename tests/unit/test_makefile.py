"""The make targets users run: their behaviour without the Pulumi CLI, and the commands they run.

The Pulumi CLI cannot be installed here, so a stub `pulumi` on PATH records its arguments:
this tests our Makefile's command lines, not Pulumi.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def make(*args: str, path: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "PULUMI"))}
    env["PATH"] = path
    return subprocess.run(
        [str(MAKE), "--no-print-directory", "-s", "-C", str(ROOT), *args],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )


@pytest.mark.parametrize("target", ["up", "preview", "drift", "destroy"])
def test_without_the_cli_each_target_exits_2_with_one_line(target: str) -> None:
    result = make(target, path="/usr/bin:/bin")

    assert result.returncode == 2
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "Pulumi CLI is not on PATH" in lines[0]
    assert "install" in lines[0]


@pytest.fixture
def stub_pulumi(tmp_path: Path) -> tuple[str, Path]:
    """A `pulumi` that logs its arguments (and the stack's env) and succeeds."""
    log = tmp_path / "calls.log"
    stub = tmp_path / "bin" / "pulumi"
    stub.parent.mkdir()
    stub.write_text(
        "#!/bin/sh\n"
        'echo "$* | backend=${PULUMI_BACKEND_URL:-} passphrase=${PULUMI_CONFIG_PASSPHRASE:-}"'
        f" >> {log}\n",
        encoding="utf-8",
    )
    stub.chmod(0o755)
    return f"{stub.parent}:{ROOT / 'venv' / 'bin'}:/usr/bin:/bin", log


@pytest.mark.parametrize(
    ("target", "command"),
    [
        ("up", "up --yes --stack dev --non-interactive"),
        ("preview", "preview --diff --stack dev --non-interactive"),
        ("drift", "preview --refresh --expect-no-changes --diff --stack dev --non-interactive"),
        ("destroy", "destroy --yes --stack dev --non-interactive"),
    ],
)
def test_real_stack_targets_run_the_documented_pulumi_command(
    stub_pulumi: tuple[str, Path], target: str, command: str
) -> None:
    path, log = stub_pulumi

    result = make(target, "STACK=dev", path=path)

    assert result.returncode == 0, result.stderr
    calls = log.read_text(encoding="utf-8").splitlines()
    assert calls[0].startswith("whoami")
    assert calls[1].startswith("stack select dev")
    assert calls[-1].split(" | ")[0] == command
    assert calls[-1].endswith("backend= passphrase=")


def test_backend_url_is_logged_in_to_when_given(stub_pulumi: tuple[str, Path]) -> None:
    path, log = stub_pulumi

    result = make("preview", "STACK=dev", "BACKEND_URL=s3://bucket/state", path=path)

    assert result.returncode == 0, result.stderr
    calls = log.read_text(encoding="utf-8").splitlines()
    assert calls[0].split(" | ")[0] == "login s3://bucket/state"
    assert calls[-1].endswith("backend=s3://bucket/state passphrase=")
