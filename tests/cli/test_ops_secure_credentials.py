"""`make doctor`/`make verify` with credentials set the README's way, through the real CLI.

`pulumi config set --secret` writes ciphertext into the stack file; `python -m ops` (what
make doctor and make verify run, with the CLI on PATH and the backend in the environment, as
the Makefile's OPS_ENV does) has the CLI decrypt it when the env var is unset, sends it, and
never prints it. Without the passphrase it says what stops the CLI and both ways out.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import ILERT_TOKEN, LEVEL_API_KEY, Sandbox
from tests.cli.harness import REPO, Project, record_cost

INTEGRATION = {"name": "Level - Acme", "escalationPolicy": "Default"}


@pytest.fixture
def world(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox
        record_cost(request.node, sandbox)


def ops(
    project: Project, *args: str, drop: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """``python -m ops ARGS --stack <stack>`` with the CLI on PATH and no credential env var."""
    env = {
        k: v for k, v in project.env.items()
        if k not in ("ILERT_API_TOKEN", "LEVEL_API_KEY", *drop)
    }
    return subprocess.run(
        [str(REPO / "venv" / "bin" / "python"), "-m", "ops", *args, "--stack", project.stack,
         "--project-dir", str(project.root)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=180, check=False,
    )


def test_secure_credentials_are_decrypted_by_the_cli_for_doctor_and_verify(
    tmp_path: Path, world: Sandbox
) -> None:
    project = Project(tmp_path / "project", world)
    project.write_stack([INTEGRATION])
    project.init()
    project.config_set_secret("ilert:apiToken", ILERT_TOKEN)
    project.config_set_secret("level:apiKey", LEVEL_API_KEY)
    project.up()
    assert ILERT_TOKEN not in project.stack_file.read_text()

    doctor = ops(project, "doctor")
    verify = ops(project, "verify", "--timeout", "20", "--poll", "0.2")

    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "✓ ilert API token works" in doctor.stdout
    assert "✓ Level API key works (1 webhooks readable)" in doctor.stdout
    assert "ids from pulumi stack output" in doctor.stdout
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "verified" in verify.stdout
    for done in (doctor, verify):
        for secret in (ILERT_TOKEN, LEVEL_API_KEY):
            assert secret not in done.stdout + done.stderr

    refused = ops(project, "doctor", drop=("PULUMI_CONFIG_PASSPHRASE",))

    assert refused.returncode == 1
    assert "not set" not in refused.stdout
    assert (
        "✗ ilert API token could not be read: ilert:apiToken is a secret (secure:) in "
        "Pulumi.e2e.yaml, which only the Pulumi CLI can decrypt, and `pulumi config get` "
        "failed: error: "
    ) in refused.stdout
    assert "PULUMI_CONFIG_PASSPHRASE" in refused.stdout
    assert "fix: export ILERT_API_TOKEN=<value> for this command" in refused.stdout
