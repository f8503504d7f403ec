"""Day two in production, through the real CLI and the project's own Makefile (issue 28).

A copy of the project with a real (not ``sandbox*``) stack on its own file backend, pointed
at a sandbox on free ports, driven by the checkout's ``make`` as a user drives it:

- key rotation in the order security teams do it (new key issued, set in the stack config,
  old key revoked; only then ``make up`` and ``make drift``), for the ilert key and then for
  the Level key; and a plain ``pulumi`` command after a rotation, whose 401 names ``make
  rotate``, which completes it;
- the passphrase changed with ``make passphrase``: the old one opens nothing any more, the new
  one opens everything, the kept file holds it;
- the drift job (.github/scripts/drift_check.sh, what drift.yml runs) with read-only keys in
  its environment, and no write key anywhere its passphrase can decrypt.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import requests
import yaml

from sandbox import (
    ILERT_READONLY_TOKEN,
    ILERT_TOKEN,
    LEVEL_API_KEY,
    LEVEL_READONLY_KEY,
    Sandbox,
)
from tests.cli.harness import PASSPHRASE, REPO, Project, cli_dir, record_cost
from tools import drift_report

INTEGRATIONS = [
    {"name": "Level - Acme", "escalationPolicy": "Default", "deviceGroups": ["Acme Corp"]},
    {"name": "Level - Globex", "escalationPolicy": "Default", "deviceGroups": ["Globex"]},
]
ROTATE_HINT = "`make rotate STACK=<this stack>` completes the rotation"
MAKE_TIMEOUT_SECONDS = 300
MAKE = shutil.which("make") or "make"


@pytest.fixture
def world(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox
        record_cost(request.node, sandbox)


class MadeProject(Project):
    """A project copy that the checkout's Makefile drives (``make -C <copy> ...``)."""

    def __init__(self, root: Path, sandbox: Sandbox, kept: Path) -> None:
        super().__init__(root, sandbox, stack="prod")
        for name in ("Makefile", "tools", "ops", "sandbox",
                     *(p.name for p in REPO.glob("requirements*"))):
            if not (root / name).exists():
                (root / name).symlink_to(REPO / name)
        self.kept = kept
        # Credentials come from the stack config only (the environment gives none).
        self.env = {k: v for k, v in self.env.items()
                    if k not in ("ILERT_API_TOKEN", "LEVEL_API_KEY")}
        self.env["LEVEL_ILERT_PASSPHRASES"] = str(kept)

    def make(
        self, *args: str, env: Mapping[str, str] | None = None, drop: tuple[str, ...] = ()
    ) -> subprocess.CompletedProcess[str]:
        """``make ARGS STACK=prod BACKEND_URL=<its backend>``, as a user types it."""
        full_env = {k: v for k, v in {**self.env, **(env or {})}.items() if k not in drop}
        full_env.pop("PULUMI_BACKEND_URL", None)  # make passes BACKEND_URL itself
        done = subprocess.run(
            [MAKE, "--no-print-directory", "-C", str(self.root), *args, f"STACK={self.stack}",
             f"BACKEND_URL=file://{self.backend}", f"PULUMI_DIR={cli_dir()}"],
            env=full_env, capture_output=True, text=True, timeout=MAKE_TIMEOUT_SECONDS,
            check=False, stdin=subprocess.DEVNULL,
        )
        return done


def issue(sandbox: Sandbox, service: str, key: str, *, read_only: bool = False) -> None:
    answer = requests.post(f"{sandbox.ilert_url}/sandbox/keys", timeout=5, json={
        "service": service, "key": key, "read_only": read_only})
    assert answer.status_code == 201, answer.text


def revoke(sandbox: Sandbox, key: str) -> None:
    answer = requests.delete(f"{sandbox.level_url}/sandbox/keys/{key}", timeout=5)
    assert answer.status_code == 204, answer.text


def shown(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"


@pytest.fixture
def project(tmp_path: Path, world: Sandbox) -> MadeProject:
    made = MadeProject(tmp_path / "project", world, tmp_path / "kept")
    made.write_stack(INTEGRATIONS)
    made.init()
    return made


def test_each_key_rotated_in_the_order_security_teams_do_it_then_make_up_and_drift_pass(
    project: MadeProject, world: Sandbox
) -> None:
    for service, key in (("ilert", "ilert-key-A"), ("level", "level-key-A")):
        issue(world, service, key)
    project.config_set_secret("ilert:apiToken", "ilert-key-A")
    project.config_set_secret("level:apiKey", "level-key-A")
    first = project.make("up")
    assert first.returncode == 0, shown(first)

    for service, config_key in (("ilert", "ilert:apiToken"), ("level", "level:apiKey")):
        issue(world, service, f"{service}-key-B")                 # 1. a new key is issued
        project.config_set_secret(config_key, f"{service}-key-B")  # 2. the stack is given it
        revoke(world, f"{service}-key-A")                          # 3. the old one is revoked

        up = project.make("up")                                    # 4. then make up ...
        drift = project.make("drift")                              # ... and the drift check

        assert up.returncode == 0, shown(up)
        assert "Resources:" in up.stdout and "unchanged" in up.stdout
        assert drift.returncode == 0, shown(drift)
        assert "pulumi preview --refresh --expect-no-changes" in drift.stderr

    # Every request after the revocations carried a key that was valid when it was sent.
    refused = [r for r in world.requests.snapshot() if r.status == 401]
    assert refused == [], refused
    secrets = ["ilert-key-A", "ilert-key-B", "level-key-A", "level-key-B"]
    assert project.plaintext_hits(secrets) == {}


def test_a_plain_pulumi_command_after_a_rotation_names_make_rotate_which_completes_it(
    project: MadeProject, world: Sandbox
) -> None:
    """Pulumi refreshes with the credentials saved at the last `up` unless the program runs:
    a `pulumi preview --refresh` typed by hand (and a destroy) meets the revoked key. Its 401
    says so and names `make rotate`; after it, plain commands work again."""
    issue(world, "ilert", "ilert-key-A")
    project.config_set_secret("ilert:apiToken", "ilert-key-A")
    project.config_set_secret("level:apiKey", LEVEL_API_KEY)
    project.up()
    issue(world, "ilert", "ilert-key-B")
    project.config_set_secret("ilert:apiToken", "ilert-key-B")
    revoke(world, "ilert-key-A")

    plain = project.pulumi("preview", "--refresh", "--expect-no-changes", "--stack", "prod")

    assert plain.code != 0
    assert "ilert API GET /api/alert-sources failed (HTTP 401)" in plain.out
    assert ROTATE_HINT in plain.out

    rotate = project.make("rotate")

    assert rotate.returncode == 0, shown(rotate)
    assert "pulumi refresh --yes --skip-preview --run-program --stack prod" in rotate.stderr
    again = project.pulumi("preview", "--refresh", "--expect-no-changes", "--stack", "prod")
    assert again.code == 0, str(again)
    destroyed = project.make("destroy", "YES=prod")
    assert destroyed.returncode == 0, shown(destroyed)
    assert world.ilert_alert_sources() == []


def test_a_wrong_key_set_now_is_named_by_the_preflight_without_the_rotation_hint(
    project: MadeProject, world: Sandbox
) -> None:
    """With the program running, the key refused is the one set now: the message asks for a
    good key, not for `make rotate` (which could not help)."""
    project.config_set_secret("ilert:apiToken", ILERT_TOKEN)
    project.config_set_secret("level:apiKey", LEVEL_API_KEY)
    assert project.make("up").returncode == 0
    project.config_set_secret("ilert:apiToken", "never-issued")

    drift = project.make("drift")

    assert drift.returncode != 0
    assert "ilert refused the API token" in drift.stdout + drift.stderr
    assert ROTATE_HINT not in drift.stdout + drift.stderr


def test_a_rename_waiting_for_its_up_keeps_the_program_out_and_a_rotation_still_completes(
    project: MadeProject, world: Sandbox
) -> None:
    """Pulumi's engine (v3.274.1) panics, and leaves the stack locked, on a refresh that runs
    the program before an alias is moved. So while a previousResourceNames rename waits for
    its `up`, make runs refreshes without the program: with a rotation at the same time the
    401 names `make rotate`, which then performs the rename in an up without refresh, with
    the credentials set now."""
    issue(world, "ilert", "ilert-key-A")
    project.config_set_secret("ilert:apiToken", "ilert-key-A")
    project.config_set_secret("level:apiKey", LEVEL_API_KEY)
    assert project.make("up").returncode == 0
    renamed = [{**INTEGRATIONS[0], "resourceName": "acme-2",
                "previousResourceNames": ["level-acme"]}, INTEGRATIONS[1]]
    project.write_stack(renamed)
    issue(world, "ilert", "ilert-key-B")
    project.config_set_secret("ilert:apiToken", "ilert-key-B")
    revoke(world, "ilert-key-A")

    up = project.make("up")

    assert up.returncode != 0
    assert "panic" not in up.stdout + up.stderr
    assert "do not run the program until its next `up` renames 'level-acme'" in up.stderr
    assert ROTATE_HINT in up.stdout + up.stderr

    rotate = project.make("rotate")

    assert rotate.returncode == 0, shown(rotate)
    assert "pulumi up --yes --refresh=false --stack prod" in rotate.stderr
    drift = project.make("drift")
    assert drift.returncode == 0, shown(drift)
    assert "renames" not in drift.stderr  # the rename is done: refreshes run the program again
    assert {s["name"] for s in world.ilert_alert_sources()} == {"Level - Acme", "Level - Globex"}


def test_the_passphrase_is_changed_with_make_passphrase_and_kept_where_it_was(
    project: MadeProject, world: Sandbox, tmp_path: Path
) -> None:
    project.config_set_secret("ilert:apiToken", ILERT_TOKEN)
    project.config_set_secret("level:apiKey", LEVEL_API_KEY)
    project.up()
    # The user keeps the passphrase in the kept file and exports none.
    project.kept.mkdir(mode=0o700)
    (project.kept / "prod").write_text(PASSPHRASE + "\n")
    (project.kept / "prod").chmod(0o600)
    new = tmp_path / "new-passphrase"
    new.write_text("a brand new passphrase\n")
    salt_before = yaml.safe_load(project.stack_file.read_text())["encryptionsalt"]

    changed = project.make("passphrase", f"NEW_PASSPHRASE_FILE={new}",
                           drop=("PULUMI_CONFIG_PASSPHRASE",))

    assert changed.returncode == 0, shown(changed)
    assert "Changed the passphrase of stack 'prod'" in changed.stdout
    assert f"The new passphrase is kept in {project.kept / 'prod'} (mode 0600)." in changed.stdout
    assert "PULUMI_CONFIG_PASSPHRASE of the GitHub environment drift-prod" in changed.stdout
    assert (project.kept / "prod").read_text() == "a brand new passphrase\n"
    assert (project.kept / "prod").stat().st_mode & 0o777 == 0o600
    assert yaml.safe_load(project.stack_file.read_text())["encryptionsalt"] != salt_before
    backups = list((project.root / ".passphrase-backups").iterdir())
    assert len(backups) == 1 and (backups[0] / "state.json").is_file()
    for secret in ("a brand new passphrase", PASSPHRASE, ILERT_TOKEN, LEVEL_API_KEY):
        assert secret not in changed.stdout + changed.stderr

    # make finds the new one where it is kept; the old one opens nothing any more.
    drift = project.make("drift", drop=("PULUMI_CONFIG_PASSPHRASE",))
    assert drift.returncode == 0, shown(drift)
    old = project.pulumi("config", "--show-secrets", "--stack", "prod")
    assert old.code != 0
    assert "incorrect passphrase" in old.out


def test_the_drift_job_runs_with_read_only_keys_and_no_write_key_it_can_decrypt(
    project: MadeProject, world: Sandbox, tmp_path: Path
) -> None:
    """The documented production setup (docs/real-environment.md#least-privilege-ci): the
    stack file holds no key; whoever runs `make up` has the write keys in their environment;
    CI has read-only keys and the passphrase, which opens no write key anywhere."""
    writer = {"ILERT_API_TOKEN": ILERT_TOKEN, "LEVEL_API_KEY": LEVEL_API_KEY}
    up = project.make("up", env=writer)
    assert up.returncode == 0, shown(up)
    ci = {
        "ILERT_API_TOKEN": ILERT_READONLY_TOKEN,
        "LEVEL_API_KEY": LEVEL_READONLY_KEY,
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_BACKEND_URL": f"file://{project.backend}",
        "PULUMI_HOME": project.env["PULUMI_HOME"],
        "STACK": "prod",
        "RUNNER_TEMP": str(tmp_path),
    }

    clean = drift_job(project, ci, tmp_path / "clean")

    assert clean.outputs == {"drift": "0", "audit": "skipped", "doctor": "skipped",
                             "issue": "close"}, clean.printed
    assert "no drift" in clean.summary

    # Nothing CI can decrypt holds a write key: not the stack file, not the state's config.
    exported = project.pulumi("stack", "export", "--show-secrets", "--stack", "prod", env=ci)
    config = project.pulumi("config", "--show-secrets", "--json", "--stack", "prod", env=ci)
    for text in (exported.stdout, config.stdout, project.stack_file.read_text()):
        assert ILERT_TOKEN not in text and LEVEL_API_KEY not in text
    # ... and the read-only keys cannot change anything: an `up` with them stops at preview.
    refused = project.pulumi("up", "--yes", "--stack", "prod", env=ci)
    assert refused.code != 0
    assert "The Level API key is read-only" in refused.out

    world.level_edit_webhook(world.level_webhooks()[0]["id"], enabled=False)

    drifted = drift_job(project, ci, tmp_path / "drifted")

    assert drifted.outputs["drift"] == "7", drifted.printed
    assert drifted.outputs["issue"] == "open"
    body = (drifted.folder / "issue.md").read_text()
    assert "### Declared state (drift check)" in body
    assert "update level:Webhook" in body and "enabled" in body
    assert drift_report.EXIT_DRIFT == 7

    # The fleet job, on the same keys: the stack's issue opens the same way.
    fleet = {**ci, "DRIFT_FLEET_STACKS": "prod", "PULUMI_DIR": str(cli_dir())}
    fleet_run = drift_job(project, fleet, tmp_path / "fleet", script="drift_fleet.sh")

    assert fleet_run.outputs == {"code": "7", "audit": "0"}, fleet_run.printed
    opened = fleet_run.folder / "issues" / "open" / "prod.md"
    assert "update level:Webhook" in opened.read_text() and "enabled" in opened.read_text()
    assert "prod: update level:Webhook" in fleet_run.summary


def test_the_drift_job_audits_a_manual_mode_stack_beside_its_drift_check(
    project: MadeProject, world: Sandbox, tmp_path: Path
) -> None:
    """A manual-mode stack has no Level object in its state: the job runs the evidence audit
    of the Level side (python -m ops audit) beside the drift check, with the same read-only
    keys. No Level alert in the window: nothing to judge, which is no finding and no health."""
    project.write_stack(INTEGRATIONS, config={"level:webhookManagement": "manual"})
    up = project.make("up", env={"ILERT_API_TOKEN": ILERT_TOKEN})
    assert up.returncode == 0, shown(up)
    ci = {
        "ILERT_API_TOKEN": ILERT_READONLY_TOKEN, "LEVEL_API_KEY": LEVEL_READONLY_KEY,
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE, "PULUMI_BACKEND_URL": f"file://{project.backend}",
        "PULUMI_HOME": project.env["PULUMI_HOME"], "STACK": "prod", "RUNNER_TEMP": str(tmp_path),
    }

    quiet = drift_job(project, ci, tmp_path / "quiet")

    assert quiet.outputs == {"drift": "0", "audit": "0", "doctor": "skipped",
                             "issue": "close"}, quiet.printed
    assert "Nothing to judge" in quiet.summary and "not a sign of health" in quiet.summary


def test_the_drift_job_refuses_to_run_without_an_explicit_backend(
    project: MadeProject, tmp_path: Path
) -> None:
    done = drift_job(project, {"STACK": "prod"}, tmp_path / "nowhere", check=False)

    assert done.code == 2
    assert "::error::No backend: set the variable PULUMI_BACKEND_URL" in done.printed
    assert not (done.folder / "preview.json").exists()


class JobRun:
    """What one run of drift_check.sh left: its outputs, job summary and files."""

    def __init__(self, folder: Path, done: subprocess.CompletedProcess[str]) -> None:
        self.folder = folder
        self.code = done.returncode
        self.printed = done.stdout + done.stderr
        output = folder / "github_output"
        self.outputs = dict(
            line.split("=", 1) for line in output.read_text().splitlines()
        ) if output.exists() else {}
        summary = folder / "step_summary"
        self.summary = summary.read_text() if summary.exists() else ""


def drift_job(
    project: MadeProject, env: Mapping[str, str], folder: Path, *, check: bool = True,
    script: str = "drift_check.sh",
) -> JobRun:
    """drift.yml's check step: .github/scripts/drift_check.sh (or the fleet job's
    drift_fleet.sh) in a checkout of the project (here, the copy), with the CLI on PATH and
    only ``env`` (as its step gives it)."""
    folder.mkdir()
    checkout = folder / "checkout"
    shutil.copytree(project.root, checkout, symlinks=True,
                    ignore=shutil.ignore_patterns(".state", ".pulumi-home"))
    (checkout / ".github").symlink_to(REPO / ".github")
    full = {
        "PATH": f"{cli_dir()}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"),
        "GITHUB_OUTPUT": str(folder / "github_output"),
        "GITHUB_STEP_SUMMARY": str(folder / "step_summary"),
        "RUN_URL": "https://github.example/run/1", **env,
    }
    done = subprocess.run(
        [str(checkout / ".github" / "scripts" / script)], cwd=checkout, env=full,
        capture_output=True, text=True, timeout=MAKE_TIMEOUT_SECONDS, check=False,
    )
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    for name in ("issue.md", "preview.json", "fleet.json", "fleet.err", "preview.err"):
        if (checkout / name).exists():
            shutil.copy(checkout / name, folder / name)
    if (checkout / "issues").is_dir():
        shutil.copytree(checkout / "issues", folder / "issues")
    return JobRun(folder, done)
