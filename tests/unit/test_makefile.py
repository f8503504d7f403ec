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


@pytest.mark.parametrize("target", ["up", "preview", "drift", "outputs", "destroy"])
def test_without_the_cli_each_target_exits_2_with_one_line(target: str) -> None:
    result = make(target, path="/usr/bin:/bin")

    assert result.returncode == 2
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "Pulumi CLI is not on PATH" in lines[0]
    assert "install" in lines[0]


@pytest.fixture
def stub_pulumi(tmp_path: Path) -> tuple[str, Path]:
    """A `pulumi` that logs its arguments (and the stack's env); `stack select` of an unknown
    stack fails as the real CLI does."""
    log = tmp_path / "calls.log"
    stub = tmp_path / "bin" / "pulumi"
    stub.parent.mkdir()
    stub.write_text(
        "#!/bin/sh\n"
        'echo "$* | backend=${PULUMI_BACKEND_URL:-} passphrase=${PULUMI_CONFIG_PASSPHRASE:-}"'
        f" >> {log}\n"
        'if [ "$1 $2 $3" = "stack select missing" ]; then exit 255; fi\n',
        encoding="utf-8",
    )
    stub.chmod(0o755)
    return f"{stub.parent}:{ROOT / 'venv' / 'bin'}:/usr/bin:/bin", log


def commands(log: Path) -> list[str]:
    return [line.split(" | ")[0] for line in log.read_text(encoding="utf-8").splitlines()]


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
    assert commands(log) == ["stack select dev", command]
    # A real stack never gets the sandbox's passphrase, backend or a global `pulumi login`.
    assert log.read_text(encoding="utf-8").splitlines()[-1].endswith("backend= passphrase=")


def test_a_missing_real_stack_is_never_created(stub_pulumi: tuple[str, Path]) -> None:
    path, log = stub_pulumi

    result = make("up", "STACK=missing", path=path)

    assert result.returncode == 2
    assert "pulumi stack init missing" in result.stderr
    assert commands(log) == ["stack select missing"]


def test_backend_url_is_used_for_these_commands_only(stub_pulumi: tuple[str, Path]) -> None:
    path, log = stub_pulumi

    result = make("preview", "STACK=dev", "BACKEND_URL=s3://bucket/state", path=path)

    assert result.returncode == 0, result.stderr
    assert "login" not in " ".join(commands(log))
    assert log.read_text(encoding="utf-8").splitlines()[-1].endswith(
        "backend=s3://bucket/state passphrase="
    )


def test_sandbox_up_starts_the_sandbox_and_creates_its_stack_locally(
    stub_pulumi: tuple[str, Path],
) -> None:
    path, _ = stub_pulumi

    result = make("-n", "up", path=path)  # dry run: the sandbox's fixed ports stay free

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "-m sandbox --state .sandbox/world.json" in out
    assert "mkdir -p .pulumi-state" in out
    assert "pulumi stack select sandbox 2>/dev/null || pulumi stack init sandbox" in out
    assert out.rstrip().endswith("pulumi up --yes --stack sandbox --non-interactive")
    assert out.index("-m sandbox") < out.index("pulumi up")


@pytest.mark.parametrize(("setting", "skip"), [((), "true"), (("CHECKPOINTS=on",), "")])
def test_pulumi_commands_skip_intermediate_checkpoints_unless_asked(
    tmp_path: Path, setting: tuple[str, ...], skip: str
) -> None:
    """Large stacks are quadratic with the CLI's checkpoint after every step (README "Scale")."""
    log = tmp_path / "env.log"
    stub = tmp_path / "bin" / "pulumi"
    stub.parent.mkdir()
    stub.write_text(f'#!/bin/sh\necho "$1 skip=${{PULUMI_SKIP_CHECKPOINTS:-}}" >> {log}\n')
    stub.chmod(0o755)

    result = make("destroy", "STACK=dev", *setting, path=f"{stub.parent}:/usr/bin:/bin")

    assert result.returncode == 0, result.stderr
    lines = log.read_text(encoding="utf-8").splitlines()
    assert lines == [f"stack skip={skip}", f"destroy skip={skip}"]
