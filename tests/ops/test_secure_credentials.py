"""Credentials set the README's way (`pulumi config set --secret`): a `secure:` value in the
stack file, decrypted through the Pulumi CLI when its env var is unset, never shown; and what
doctor and verify say when no CLI can decrypt it (never "not set").

The CLI here is a stub `pulumi` on PATH that answers `config get <key> --stack <stack>` the
way the real one does (the plaintext and a newline on stdout; exit 255 and a reason on
stderr without the stack's passphrase), and logs how it was called. tests/cli/ runs the real
CLI (make e2e).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ops.secure_config import (
    Decrypted,
    Undecryptable,
    decrypt,
    kept_passphrase_file,
    with_kept_passphrase,
)
from sandbox import ILERT_TOKEN, LEVEL_API_KEY
from tests.ops.conftest import STACK, Project

CIPHER = {"secure": "v1:AAAAAAAAAAAAAAAA:ciphertext"}
PASSPHRASE = "the stack's passphrase"
ACME = "Level - Acme"
FAST = ("--timeout", "0.3", "--poll", "0.05")
PASSPHRASE_MISSING = (
    "error: passphrase must be set with PULUMI_CONFIG_PASSPHRASE or "
    "PULUMI_CONFIG_PASSPHRASE_FILE environment variables"
)
STUB = f'''#!{sys.executable}
"""A stub Pulumi CLI: `config get <key> --stack <stack> --non-interactive` only."""
import json, os, sys
from pathlib import Path
here = Path(__file__).resolve().parent
args = sys.argv[1:]
with (here / "calls.jsonl").open("a") as log:
    log.write(json.dumps({{"args": args, "cwd": os.getcwd(),
                          "stdin_tty": os.isatty(0)}}) + "\\n")
if args[:2] != ["config", "get"] or "--stack" not in args:
    sys.exit(f"error: this stub only answers config get, not {{args}}")
stack = args[args.index("--stack") + 1]
if not Path(f"Pulumi.{{stack}}.yaml").is_file():
    sys.exit(f"error: no stack named '{{stack}}' found")
if not os.environ.get("PULUMI_CONFIG_PASSPHRASE"):
    print({PASSPHRASE_MISSING!r}, file=sys.stderr)
    sys.exit(255)
values = json.loads((here / "plaintext.json").read_text())
if args[2] not in values:
    sys.exit(f"error: configuration key '{{args[2]}}' not found for stack '{{stack}}'")
print(values[args[2]])
'''


class StubCli:
    """A stub `pulumi` in its own folder, first on PATH, and what it was asked."""

    def __init__(self, folder: Path, plaintext: dict[str, str]) -> None:
        folder.mkdir()
        self.folder = folder
        (folder / "plaintext.json").write_text(json.dumps(plaintext))
        script = folder / "pulumi"
        script.write_text(STUB)
        script.chmod(0o755)

    @property
    def calls(self) -> list[dict[str, Any]]:
        log = self.folder / "calls.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]


def secure_credentials(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both credentials as `pulumi config set --secret` leaves them; no env var exported."""
    file = project.path / f"Pulumi.{STACK}.yaml"
    document = yaml.safe_load(file.read_text())
    document["config"].update({"ilert:apiToken": CIPHER, "level:apiKey": CIPHER})
    file.write_text(yaml.safe_dump(document))
    monkeypatch.delenv("ILERT_API_TOKEN")
    monkeypatch.delenv("LEVEL_API_KEY")


def stub_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ilert: str = ILERT_TOKEN,
    level: str = LEVEL_API_KEY, passphrase: str | None = PASSPHRASE,
) -> StubCli:
    stub = StubCli(tmp_path / "cli", {"ilert:apiToken": ilert, "level:apiKey": level})
    monkeypatch.setenv("PATH", f"{stub.folder}:/usr/bin:/bin")
    monkeypatch.setenv("LEVEL_ILERT_PASSPHRASES", str(tmp_path / "kept"))  # none kept
    if passphrase is None:
        monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    else:
        monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", passphrase)
    return stub


def test_secure_credentials_are_decrypted_by_the_cli_reach_the_apis_and_are_never_shown(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secure_credentials(project, monkeypatch)
    stub = stub_cli(tmp_path, monkeypatch)
    project.sandbox.requests.clear()

    code, out, err = project.run("doctor")

    assert code == 0, out
    assert "✓ ilert API token works" in out
    assert "✓ Level API key works (2 webhooks readable)" in out
    # The sandbox answers only `Authorization: Bearer <its token>` (ilert) and the raw key
    # (Level); every call was answered, so each carried exactly the decrypted value.
    answered = {(r.service, r.status) for r in project.sandbox.requests.snapshot()}
    assert answered == {("ilert", 200), ("level", 200)}
    for secret in (ILERT_TOKEN, LEVEL_API_KEY):
        assert secret not in out + err
    assert [(c["args"], c["cwd"]) for c in stub.calls] == [
        (["config", "get", key, "--stack", STACK, "--non-interactive"], str(project.path))
        for key in ("ilert:apiToken", "level:apiKey")
    ]
    assert not any(c["stdin_tty"] for c in stub.calls)

    code, out, err = project.run("verify", "--integration", ACME, *FAST)

    assert code == 0, out
    assert "verified" in out
    for secret in (ILERT_TOKEN, LEVEL_API_KEY):
        assert secret not in out + err


def test_a_decrypted_token_the_api_refuses_is_named_by_its_key_with_the_config_fix(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secure_credentials(project, monkeypatch)
    stub_cli(tmp_path, monkeypatch, ilert="an-old-rotated-token")
    project.sandbox.requests.clear()

    code, out, err = project.run("doctor")

    assert code == 1
    assert (
        "✗ ilert refused the API token (401), the one from ilert:apiToken in Pulumi.test.yaml"
    ) in out
    assert (
        "fix: `pulumi config set --secret ilert:apiToken --stack test` (it asks for a valid "
        "ilert API key)"
        ", or export ILERT_API_TOKEN=<a valid ilert API key> for this command"
    ) in out
    assert [r.status for r in project.sandbox.requests.snapshot() if r.service == "ilert"] == [
        401
    ]
    assert "an-old-rotated-token" not in out + err


def test_an_exported_env_var_is_used_and_the_cli_is_not_asked(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secure_credentials(project, monkeypatch)
    stub = stub_cli(tmp_path, monkeypatch, ilert="not-what-the-env-says")
    monkeypatch.setenv("ILERT_API_TOKEN", ILERT_TOKEN)

    code, out, _ = project.run("doctor")

    assert code == 0, out
    assert [c["args"][2] for c in stub.calls] == ["level:apiKey"]


def test_without_a_cli_a_secure_credential_is_not_called_unset_and_both_ways_out_are_named(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secure_credentials(project, monkeypatch)
    empty = tmp_path / "no-cli"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    code, out, _ = project.run("doctor")

    assert code == 1
    assert "not set" not in out
    assert (
        "✗ ilert API token could not be read: ilert:apiToken is a secret (secure:) in "
        "Pulumi.test.yaml, which only the Pulumi CLI can decrypt, and the Pulumi CLI is not "
        "on PATH"
    ) in out
    assert (
        "fix: export ILERT_API_TOKEN=<value> for this command, or let the CLI decrypt it: run "
        "`make pulumi` once (make doctor and make verify put that CLI on PATH)"
    ) in out
    assert "✗ Level API key could not be read: level:apiKey is a secret (secure:)" in out

    code, out, err = project.run("verify", *FAST)

    assert code == 2
    assert out == ""
    assert (
        "ilert API token could not be read: ilert:apiToken is a secret (secure:) in "
        "Pulumi.test.yaml, which only the Pulumi CLI can decrypt, and the Pulumi CLI is not on "
        "PATH. Fix: export ILERT_API_TOKEN=<value> for this command"
    ) in err
    assert "not set" not in err


def test_a_cli_without_the_passphrase_gives_its_reason_and_the_two_ways_out(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secure_credentials(project, monkeypatch)
    stub_cli(tmp_path, monkeypatch, passphrase=None)

    code, out, _ = project.run("doctor")

    assert code == 1
    assert "not set" not in out
    assert (
        "✗ ilert API token could not be read: ilert:apiToken is a secret (secure:) in "
        f"Pulumi.test.yaml, which only the Pulumi CLI can decrypt, and `pulumi config get` "
        f"failed: {PASSPHRASE_MISSING}"
    ) in out
    kept = kept_passphrase_file("test")
    assert (
        "fix: export ILERT_API_TOKEN=<value> for this command, or let the CLI decrypt it: for "
        f"a passphrase stack keep the stack's passphrase in {kept} (mode 0600) or set "
        "PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE); otherwise `pulumi login` "
        "to the stack's backend"
    ) in out


def test_a_cli_that_hangs_or_prints_nothing_is_a_reason_not_a_value(tmp_path: Path) -> None:
    def hangs(*_args: Any, **_kwargs: Any) -> Any:
        raise subprocess.TimeoutExpired("pulumi", 60)

    def prints_nothing(*args: Any, **_kwargs: Any) -> Any:
        return subprocess.CompletedProcess(args, 0, stdout="\n", stderr="")

    def found(*_args: Any, **_kwargs: Any) -> str:
        return "/bin/pulumi"

    assert decrypt("ilert:apiToken", STACK, tmp_path, {}, which=found, run=hangs) == (
        Undecryptable("`pulumi config get` gave no answer within 60 s")
    )
    assert decrypt("ilert:apiToken", STACK, tmp_path, {}, which=found, run=prints_nothing) == (
        Undecryptable("`pulumi config get` printed an empty value")
    )
    assert "s3cret" not in repr(Decrypted("s3cret"))


def test_the_passphrase_kept_for_a_stack_is_given_to_the_cli_unless_one_is_exported(
    tmp_path: Path,
) -> None:
    """``$LEVEL_ILERT_PASSPHRASES/<stack>``, the file the Makefile exports as well."""
    seen: list[dict[str, str]] = []

    def run(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["env"])
        return subprocess.CompletedProcess(args, 0, stdout="value\n", stderr="")

    def found(*_args: Any, **_kwargs: Any) -> str:
        return "/bin/pulumi"

    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / STACK).write_text(PASSPHRASE)
    env = {"LEVEL_ILERT_PASSPHRASES": str(kept), "PATH": "/bin"}

    assert kept_passphrase_file(STACK, env) == kept / STACK
    assert decrypt("ilert:apiToken", STACK, tmp_path, env, which=found, run=run) == (
        Decrypted("value")
    )
    assert seen[-1]["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(kept / STACK)
    exported = {**env, "PULUMI_CONFIG_PASSPHRASE": ""}  # an empty passphrase is one too
    assert "PULUMI_CONFIG_PASSPHRASE_FILE" not in with_kept_passphrase(STACK, exported)
    assert "PULUMI_CONFIG_PASSPHRASE_FILE" not in with_kept_passphrase("other", env)
    assert kept_passphrase_file(STACK, {"XDG_CONFIG_HOME": "/cfg"}) == Path(
        f"/cfg/level-ilert/passphrases/{STACK}"
    )
