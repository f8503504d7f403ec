"""The first hour and the fleet, as a new user meets them (issue 26), through the real Pulumi
CLI against the sandbox: a read-only Level key, stacks that would page twice for one alert,
the fleet example of docs/fleet.md, discover for a second stack, a rename explained at
preview, a create whose first POST meets a 502, and ``pulumi new`` from the repository.

Run by ``make e2e`` (it finds or builds the CLI and sets ``PULUMI_DIR``), never by ``make
test``. Each test has its own sandbox and project.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox import ILERT_TOKEN, LEVEL_READONLY_KEY, Sandbox
from tests.cli.fleet_project import FleetProject
from tests.cli.harness import REPO, Project, Run, cli_dir

ACME = {"name": "Level - Acme (a)", "deviceGroups": ["Acme Corp"]}
GLOBEX = {"name": "Level - Globex (b)", "deviceGroups": ["Globex"]}


@pytest.fixture
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetProject]:
    with Sandbox() as sandbox:
        yield FleetProject(tmp_path_factory.mktemp("first-hour"), sandbox)


def _stacks(run: Run) -> dict[str, dict[str, Any]]:
    return {entry["stack"]: entry for entry in json.loads(run.stdout)["stacks"]}


def _ops(project: Project, *args: str, env: Mapping[str, str] | None = None) -> Run:
    """``python -m ops ARGS --project-dir <copy>`` with the project's environment and CLI."""
    full = (*args, "--project-dir", str(project.root))
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "ops", *full], cwd=REPO, env={**project.env, **(env or {})},
        capture_output=True, text=True, timeout=300, check=False,
    )
    run = Run(full, done.returncode, done.stdout, done.stderr, time.monotonic() - started)
    project.runs.append(run)
    return run


# -- a read-only Level key: make drift and the fleet's drift agree ---------------------------


def test_a_read_only_level_key_passes_make_drift_and_the_fleets_drift_alike(
    fleet: FleetProject,
) -> None:
    fleet.add_stack("sandbox-a", [ACME])
    fleet.add_stack("sandbox-b", [GLOBEX])
    up = fleet.fleet("up", "--json")
    assert up.code == 0, up
    for name in ("sandbox-a", "sandbox-b"):  # as CI's drift check runs: a read-only key
        fleet.stack = name
        fleet.config_set_secret("level:apiKey", LEVEL_READONLY_KEY)

    make_drift = {}
    for name in ("sandbox-a", "sandbox-b"):
        fleet.stack = name
        make_drift[name] = fleet.drift().code  # make drift's command and environment
    fleet_drift = fleet.fleet("drift", "--json")
    preview = fleet.fleet("preview", "--json")  # a full preflight: the key cannot write

    assert make_drift == {"sandbox-a": 0, "sandbox-b": 0}
    assert fleet_drift.code == 0, fleet_drift
    assert {name: entry["result"] for name, entry in _stacks(fleet_drift).items()} == {
        "sandbox-a": "clean", "sandbox-b": "clean"}
    assert preview.code == 2
    for entry in _stacks(preview).values():
        # the first line that names the cause, not the preflight's heading above it
        assert entry["error"].startswith("The Level API key is read-only:"), entry
        assert entry["errorDetail"].startswith("Preflight (pulumi preview) found what would")


# -- two stacks that would page for one Level alert ------------------------------------------


def test_the_fleets_preview_refuses_two_stacks_that_would_page_for_one_alert(
    fleet: FleetProject,
) -> None:
    fleet.add_stack("sandbox-a", [ACME])
    assert fleet.fleet("up", "--json").code == 0
    copy = {"name": "Level - Acme (copy)", "deviceGroups": ["Acme Corp"]}
    fleet.add_stack("sandbox-copy", [copy])

    alone = fleet.fleet("preview", "--json", "--stacks", "sandbox-copy")
    both = fleet.fleet("preview", "--json", "--stacks", "sandbox-a", "sandbox-copy")
    sources_before = len(fleet.sandbox.ilert_alert_sources())

    # sandbox-a is live (it holds resources): comparing with it needs no --stacks
    assert alone.code == 2, alone
    (entry,) = _stacks(alone).values()
    assert entry["result"] == "failed"
    assert entry["error"] == (
        "Pulumi.sandbox-copy.yaml level-ilert:integrations[0] ('sandbox-copy/Level - Acme "
        "(copy)') and Pulumi.sandbox-a.yaml level-ilert:integrations[0] ('sandbox-a/Level - "
        "Acme (a)') would both open an ilert alert for the same Level alert: both list the "
        "device group 'Acme Corp', and neither has an eventFilter."
    )
    assert entry["errorDetail"].startswith(
        "Two integrations of different stacks would page for the same Level alert (stacks "
        "sandbox-copy and sandbox-a share a Level organisation, the same Level base URL and key)")
    assert ("or say that both should receive it: sharesAlertsWith: ['sandbox-a/Level - Acme "
            "(a)'] on Pulumi.sandbox-copy.yaml level-ilert:integrations[0].") in entry[
        "errorDetail"]
    assert both.code == 2
    assert {name: e["result"] for name, e in _stacks(both).items()} == {
        "sandbox-a": "failed", "sandbox-copy": "failed"}
    assert len(fleet.sandbox.ilert_alert_sources()) == sources_before  # nothing was made

    # The way out the message names, written as it says: the preview runs.
    fleet.stack = "sandbox-copy"
    fleet.write_stack([{"escalationPolicy": "Default", **copy,
                        "sharesAlertsWith": ["sandbox-a/Level - Acme (a)"]}])
    allowed = fleet.fleet("preview", "--json", "--stacks", "sandbox-a", "sandbox-copy")
    assert allowed.code == 0, allowed


# -- the fleet example of docs/fleet.md --------------------------------------------------------


def documented_fleet() -> dict[str, dict[str, Any]]:
    """The stack files docs/fleet.md tells a reader to write: each ```yaml block after a line
    that names its ``Pulumi.sandbox-*.yaml``."""
    text = (REPO / "docs" / "fleet.md").read_text(encoding="utf-8")
    found = {}
    for match in re.finditer(r"`Pulumi\.(sandbox-[\w-]+)\.yaml`:\n\n```yaml\n(.*?)```", text,
                             re.S):
        found[match[1]] = yaml.safe_load(match[2])["config"]
    return found


def test_the_documented_fleet_example_pages_each_alert_once(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    example = documented_fleet()
    assert sorted(example) == ["sandbox-acme", "sandbox-globex", "sandbox-oncall"]
    with Sandbox() as sandbox:
        fleet = FleetProject(tmp_path_factory.mktemp("documented"), sandbox)
        shutil.rmtree(fleet.backend)  # a fresh clone: the fleet makes .pulumi-state itself
        for name, config in example.items():
            fleet.stack = name  # only the URLs change: this sandbox's free ports
            fleet.write_stack(config["level-ilert:integrations"], config={
                key: value for key, value in config.items()
                if key not in ("level-ilert:integrations", "ilert:baseUrl", "level:baseUrl")})
        names = list(example)

        up = fleet.fleet("up", "--json", "--stacks", *names)  # stacks made on first use
        verified = {name: _ops(fleet, "verify", "--stack", name) for name in names}
        drift = fleet.fleet("drift", "--json", "--stacks", *names)

    assert up.code == 0, up
    assert {name: entry["result"] for name, entry in _stacks(up).items()} == dict.fromkeys(
        names, "updated")
    for name, run in verified.items():
        assert run.code == 0, f"make verify STACK={name}:\n{run}"
    assert drift.code == 0, drift


# -- discover for a second stack on the same accounts -------------------------------------------


def test_discover_for_a_new_sandbox_stack_lists_what_the_sandbox_stack_manages(
    fleet: FleetProject,
) -> None:
    fleet.add_stack("sandbox", [ACME, GLOBEX])
    assert fleet.fleet("up", "--json").code == 0, fleet.runs[-1]
    env = {"ILERT_BASE_URL": fleet.sandbox.ilert_url, "LEVEL_BASE_URL": fleet.sandbox.level_url}

    found = _ops(fleet, "discover", "--stack", "sandbox-x", env=env)

    assert found.code == 1, found  # nothing to write: both sources are the sandbox stack's
    assert not (fleet.root / "Pulumi.sandbox-x.yaml").exists()
    (line,) = [line for line in found.stdout.splitlines() if line.startswith("managed by")]
    assert line.startswith("managed by stack sandbox (left out, not taken over): ")
    assert "'Level - Acme (a)' (alert source " in line
    assert "'Level - Globex (b)' (alert source " in line
    assert line.endswith("2 webhook(s) to those sources")
    assert "and 2 managed by other stacks" in found.stderr


# -- a rename that would replace, explained at preview ------------------------------------------


def _preview_explained(project: Project) -> tuple[Run, str]:
    """``make preview``'s two steps: the CLI with an event log, then ops/renames.py on it."""
    log = project.root / "events.jsonl"
    run = project.pulumi("preview", "--diff", "--stack", project.stack, "--event-log", str(log),
                         env={"PULUMI_DEBUG_COMMANDS": "true"})
    notes = subprocess.run(
        [sys.executable, "-m", "ops.renames", "--stack", project.stack, "--project-dir",
         str(project.root), str(log)],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=True,
    ).stderr
    log.unlink()
    return run, notes


def test_a_rename_that_would_replace_is_explained_with_the_line_that_avoids_it(
    tmp_path: Path,
) -> None:
    entry = {"name": "Level - Rename me", "escalationPolicy": "Default"}
    with Sandbox() as sandbox:
        project = Project(tmp_path / "p", sandbox)
        project.write_stack([entry])
        project.init()
        project.up()
        (before,) = sandbox.ilert_alert_sources()

        project.write_stack([{**entry, "name": "Level - Renamed"}])
        replacing, note = _preview_explained(project)
        project.write_stack([{**entry, "name": "Level - Renamed",
                              "resourceName": "level-rename-me"}])
        in_place, none = _preview_explained(project)
        project.up()
        (after,) = sandbox.ilert_alert_sources()

    assert replacing.code == 0, replacing
    assert "+ 3 to create" in replacing.out and "- 3 to delete" in replacing.out
    assert note.startswith(
        "\nnote: level-ilert:integrations[0] ('Level - Renamed', was 'Level - Rename me') will "
        "be replaced, not renamed: its resource name changes from level-rename-me to "
        "level-renamed, so Pulumi makes a new ilert alert source, whose integration URL is new")
    assert "the Level webhook is re-pointed to it" in note
    assert "add this line to level-ilert:integrations[0]:\n    resourceName: level-rename-me\n" \
        in note
    assert in_place.code == 0, in_place
    assert "~ 1 to update" in in_place.out and "to create" not in in_place.out
    assert none == ""
    assert (after["id"], after["integrationUrl"]) == (before["id"], before["integrationUrl"])
    assert after["name"] == "Level - Renamed"


# -- the soak story: a 502 on a create's first POST ---------------------------------------------


@pytest.mark.parametrize(
    ("mode", "posts"),
    [("before", [502, 201]),  # ilert never saw it: the look-up proves it, the POST goes again
     ("after", [502])],  # ilert made it, then answered 502: the look-up finds it
)
def test_a_502_on_the_first_post_of_a_create_is_absorbed_without_a_duplicate(
    tmp_path: Path, mode: str, posts: list[int]
) -> None:
    with Sandbox() as sandbox:
        project = Project(tmp_path / "p", sandbox)
        project.write_stack([{"name": "Level - Soak", "escalationPolicy": "Default"}])
        project.init()
        sandbox.faults.add("ilert", "POST", "/api/alert-sources", status=502, mode=mode)
        sandbox.faults.add("level", "POST", "/v2/webhooks", status=502, mode=mode)

        up = project.pulumi("up", "--yes", "--stack", project.stack)  # one operation

        sources = sandbox.ilert_alert_sources()
        hooks = sandbox.level_webhooks()
        sent = {path: [r.status for r in sandbox.requests if r.method == "POST"
                       and r.path == path] for path in ("/api/alert-sources", "/v2/webhooks")}

    assert up.code == 0, up
    assert [source["name"] for source in sources] == ["Level - Soak"]
    assert len(hooks) == 1 and hooks[0]["url"] == sources[0]["integrationUrl"]
    assert sent == {"/api/alert-sources": posts, "/v2/webhooks": posts}


# -- pulumi new from the repository -------------------------------------------------------------


def _template(root: Path) -> Path:
    """The repository as a fresh clone has it: its tracked files, nothing else."""
    git = shutil.which("git") or "git"
    listed = subprocess.run([git, "ls-files", "-z"], cwd=REPO, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    return root


def _new_env(home: Path, backend: Path) -> dict[str, str]:
    return {
        "PATH": f"{REPO / 'venv' / 'bin'}:{cli_dir()}:/usr/bin:/bin", "HOME": str(home),
        "PULUMI_HOME": str(home / ".pulumi"), "PULUMI_BACKEND_URL": f"file://{backend}",
        "PULUMI_CONFIG_PASSPHRASE": "new-passphrase", "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true", "TERM": "xterm",
        # Nothing reaches the internet: pulumi new's dependency install stops at pip.
        "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "",
    }


def _answer(argv: Sequence[str], env: Mapping[str, str], answers: Sequence[tuple[str, str]],
            timeout: float = 120.0) -> tuple[int, str]:
    """Run ``argv`` on a terminal and answer each prompt that ends with ``(<key>)``."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI, on the terminal
        os.execve(argv[0], list(argv), dict(env))  # noqa: S606 (the pinned CLI, our arguments)
    seen, pending, asked = b"", b"", 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            pending += chunk
            plain = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", pending)
            if asked < len(answers) and f"({answers[asked][0]})".encode() in plain:
                time.sleep(0.2)
                os.write(fd, answers[asked][1].encode() + b"\r")
                pending, asked = b"", asked + 1
    finally:
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r", "", seen.decode(errors="replace"))
    assert asked == len(answers), f"answered {asked} of {len(answers)} prompts:\n{text}"
    return os.waitstatus_to_exitcode(status), text


def test_pulumi_new_from_the_repository_asks_for_what_a_stack_needs(tmp_path: Path) -> None:
    template = _template(tmp_path / "template")
    backend = tmp_path / "state"
    backend.mkdir()
    target = tmp_path / "mine"
    env = _new_env(tmp_path / "home", backend)
    with Sandbox() as sandbox:
        code, printed = _answer(
            [str(cli_dir() / "pulumi"), "new", str(template), "--dir", str(target), "--name",
             "level-ilert", "--stack", "prod", "--description", "mine"],
            env,
            [("ilert:apiToken", ILERT_TOKEN), ("ilert:baseUrl", sandbox.ilert_url),
             ("level:apiKey", ""), ("level:baseUrl", ""), ("level:webhookManagement", ""),
             ("integrations", '[{"name": "Level - Mine", "escalationPolicy": "On-call L1"}]')],
        )
        (target / "venv").symlink_to(REPO / "venv")  # what make venv makes on first use
        preview = subprocess.run(
            [str(cli_dir() / "pulumi"), "preview", "--stack", "prod", "--non-interactive"],
            cwd=target, env=env, capture_output=True, text=True, timeout=240, check=False)
        written = (target / "Pulumi.prod.yaml").read_text()

    # Everything up to the dependency install ran; the install needs PyPI, kept out here.
    assert "Created stack 'prod'" in printed and "Saved config" in printed
    assert code != 0 and "installing dependencies failed" in printed, printed
    config = yaml.safe_load(written)["config"]
    assert set(config["ilert:apiToken"]) == {"secure"}  # typed at a prompt: encrypted
    assert ILERT_TOKEN not in written
    assert config["ilert:baseUrl"] == sandbox.ilert_url
    assert config["level:webhookManagement"] == "manual"  # the default
    assert "level:apiKey" not in config and "level:baseUrl" not in config  # left empty
    assert json.loads(config["level-ilert:integrations"]) == [
        {"name": "Level - Mine", "escalationPolicy": "On-call L1"}]
    project = yaml.safe_load((target / "Pulumi.yaml").read_text())
    assert "template" not in project  # pulumi new keeps it out of the new project
    assert preview.returncode == 0, preview.stdout + preview.stderr
    assert "+ 3 to create" in preview.stdout  # the stack, the integration, its alert source


def test_pulumi_new_without_prompts_takes_the_first_integration_field_by_field(
    tmp_path: Path,
) -> None:
    template = _template(tmp_path / "template")
    backend = tmp_path / "state"
    backend.mkdir()
    target = tmp_path / "mine"
    env = _new_env(tmp_path / "home", backend)

    done = subprocess.run(
        [str(cli_dir() / "pulumi"), "new", str(template), "--dir", str(target), "--name",
         "level-ilert", "--stack", "ci", "--yes", "--non-interactive", "--config-path",
         "--config", "level:webhookManagement=manual",
         "--config", "level-ilert:integrations[0].name=Level - Scripted",
         "--config", "level-ilert:integrations[0].escalationPolicy=Default"],
        env=env, capture_output=True, text=True, timeout=240, check=False)

    assert "installing dependencies failed" in done.stderr, done.stdout + done.stderr
    config = yaml.safe_load((target / "Pulumi.ci.yaml").read_text())["config"]
    assert config["level-ilert:integrations"] == [
        {"name": "Level - Scripted", "escalationPolicy": "Default"}]
    assert "ilert:apiToken" not in config  # left empty: set it with pulumi config set --secret


# -- objects taken over show as adopted -------------------------------------------------------


def test_objects_taken_over_show_as_adopted_in_the_fleets_table(fleet: FleetProject) -> None:
    fleet.add_stack("sandbox-a", [ACME])
    assert fleet.fleet("up", "--json").code == 0
    # The state goes, the objects stay: a stack that takes them over with adopt: true.
    fleet.ok("stack", "rm", "--yes", "--force", "--preserve-config", "--stack", "sandbox-a")
    (fleet.root / "Pulumi.sandbox-a.yaml").unlink()
    fleet.add_stack("sandbox-b", [{**ACME, "adopt": True}])

    up = fleet.fleet("up", "--json")

    assert up.code == 0, up
    (entry,) = _stacks(up).values()
    assert entry["changes"]["adopt"] == 2, entry  # the alert source and its webhook
    assert len(fleet.sandbox.ilert_alert_sources()) == 1
    assert len(fleet.sandbox.level_webhooks()) == 1
