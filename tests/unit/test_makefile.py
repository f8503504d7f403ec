"""The make targets users run: how they find the CLI, the commands and environment they run it with.

A stub `pulumi` on PATH (reporting a version at the pin, so `make pulumi` takes it instead of
building one) records its arguments and environment: this tests our Makefile's command lines
and runtime hygiene, not Pulumi (tests/cli runs the real CLI).
"""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tools import pulumi_cli

ROOT = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")
PIN = pulumi_cli.pinned_version()
CLI_TARGETS = ["up", "preview", "drift", "outputs", "destroy"]


def make(*args: str, path: str, home: Path) -> subprocess.CompletedProcess[str]:
    """make in the checkout with only ``path`` on PATH, and an empty CLI cache and home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "PULUMI"))}
    env.update(PATH=path, HOME=str(home), LEVEL_ILERT_CACHE=str(home / "cache"),
               PULUMI_HOME=str(home / ".pulumi"))
    return subprocess.run(
        [str(MAKE), "--no-print-directory", "-s", "-C", str(ROOT), *args],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )


@pytest.mark.parametrize("target", CLI_TARGETS)
def test_without_the_cli_or_go_each_target_exits_2_with_one_line(
    target: str, tmp_path: Path
) -> None:
    python_only = tmp_path / "python-only"
    python_only.mkdir()
    (python_only / "python3").symlink_to(shutil.which("python3") or "/usr/bin/python3")

    result = make(target, path=f"{python_only}:/usr/bin:/bin", home=tmp_path)

    assert result.returncode == 2
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 2, lines  # our sentence, then make's own "Error 2"
    assert lines[0].startswith(f"The Pulumi CLI v{PIN} (or newer) is not on PATH and Go is not")
    assert "https://www.pulumi.com/docs/iac/download-install/" in lines[0]
    assert "Error 2" in lines[1]


@pytest.fixture
def stub_pulumi(tmp_path: Path) -> tuple[str, Path]:
    """A `pulumi` at the pinned version that logs its arguments and environment; `stack
    select` of an unknown stack fails as the real CLI does."""
    log = tmp_path / "calls.log"
    stub = tmp_path / "bin" / "pulumi"
    stub.parent.mkdir()
    stub.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = version ]; then echo v{PIN}; exit 0; fi\n'
        'echo "$* | backend=${PULUMI_BACKEND_URL:-} passphrase=${PULUMI_CONFIG_PASSPHRASE:-}'
        " skip_update=${PULUMI_SKIP_UPDATE_CHECK:-} no_plugins="
        '${PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION:-}'
        ' preflight=${LEVEL_ILERT_PREFLIGHT:-} adopt=${LEVEL_ILERT_ADOPT:-}'
        ' run_program=${PULUMI_RUN_PROGRAM:-} passphrase_file=${PULUMI_CONFIG_PASSPHRASE_FILE:-}'
        ' path=$PATH"'
        f" >> {log}\n"
        'if [ "$1 $2 $3" = "stack select missing" ]; then exit 255; fi\n',
        encoding="utf-8",
    )
    stub.chmod(0o755)
    return f"{stub.parent}:{ROOT / 'venv' / 'bin'}:/usr/bin:/bin", log


def calls(log: Path) -> list[dict[str, str]]:
    """Each recorded call: its arguments and the environment fields it saw."""
    found = []
    for line in log.read_text(encoding="utf-8").splitlines():
        command, _, rest = line.partition(" | ")
        fields = dict(part.split("=", 1) for part in rest.split(" "))
        # up and preview also log the engine's events for ops/renames.py (a temporary file)
        logged = re.search(r" --event-log (\S+)", command)
        command = command.replace(logged[0], "") if logged else command
        found.append({"command": command, "event_log": logged[1] if logged else "", **fields})
    return found


def logged_in(home: Path, backend: str) -> None:
    """What `pulumi login <backend>` leaves in PULUMI_HOME."""
    (home / ".pulumi").mkdir(exist_ok=True)
    (home / ".pulumi" / "credentials.json").write_text(f'{{"current": "{backend}"}}')


@pytest.mark.parametrize(
    ("target", "command"),
    [
        ("up", "up --yes --stack dev --non-interactive"),
        ("preview", "preview --diff --stack dev --non-interactive"),
        ("drift", "preview --refresh --expect-no-changes --diff --stack dev --non-interactive"),
        ("outputs", "stack output --stack dev --non-interactive"),
        ("destroy", "destroy --yes --stack dev --non-interactive"),
    ],
)
def test_real_stack_targets_run_the_documented_command_with_an_explicit_backend(
    stub_pulumi: tuple[str, Path], tmp_path: Path, target: str, command: str
) -> None:
    path, log = stub_pulumi
    logged_in(tmp_path, "https://api.pulumi.com")

    confirm = ("YES=dev",) if target == "destroy" else ()
    result = make(target, "STACK=dev", *confirm, path=path, home=tmp_path)

    assert result.returncode == 0, result.stderr
    assert f"pulumi {command}" in result.stderr  # the command as a user would type it
    recorded = calls(log)
    assert [call["command"] for call in recorded] == ["stack select dev", command]
    for call in recorded:
        # The current login, passed explicitly; never the sandbox's passphrase; nothing that
        # reaches the internet on its own; the venv first on PATH for the language host.
        assert call["backend"] == "https://api.pulumi.com"
        assert call["passphrase"] == ""
        assert call["skip_update"] == "true"
        assert call["no_plugins"] == "true"
        assert call["path"].startswith(f"{ROOT / 'venv' / 'bin'}:")
    # A drift check only reads: its preview's preflight skips the Level write probe.
    assert recorded[-1]["preflight"] == ("read-only" if target == "drift" else "")
    # Refreshes run the program, so they use the credentials set now (a rotated key works);
    # a destroy runs from the state alone, so a stack file that no longer validates never
    # stops it.
    assert recorded[-1]["run_program"] == ("false" if target == "destroy" else "true")


@pytest.mark.parametrize("confirm", [(), ("YES=1",), ("YES=dev",)])
def test_destroying_a_real_stack_in_a_script_needs_its_name_as_yes(
    stub_pulumi: tuple[str, Path], tmp_path: Path, confirm: tuple[str, ...]
) -> None:
    path, log = stub_pulumi
    logged_in(tmp_path, "https://api.pulumi.com")

    result = make("destroy", "STACK=prod", *confirm, path=path, home=tmp_path)

    assert result.returncode == 2
    assert "make destroy STACK=prod deletes every alert source and webhook" in result.stderr
    assert "To go ahead, name the stack: make destroy STACK=prod YES=prod" in result.stderr
    assert "destroy" not in " ".join(call["command"] for call in calls(log))


@pytest.mark.parametrize(("typed", "destroyed"), [("prod", True), ("yes", False), ("", False)])
def test_destroying_a_real_stack_at_a_terminal_asks_to_type_its_name(
    stub_pulumi: tuple[str, Path], tmp_path: Path, typed: str, destroyed: bool
) -> None:
    path, log = stub_pulumi
    logged_in(tmp_path, "https://api.pulumi.com")

    result = make_at_terminal("destroy", "STACK=prod", answer=typed, path=path, home=tmp_path)

    assert "Type the stack's name to destroy it: " in result.stderr
    commands = [call["command"] for call in calls(log)]
    if destroyed:
        assert result.returncode == 0, result.stderr
        assert commands[-1] == "destroy --yes --stack prod --non-interactive"
    else:
        assert result.returncode == 2
        assert f"Not destroyed: you typed '{typed}', not 'prod'." in result.stderr
        assert "destroy" not in " ".join(commands)


def make_at_terminal(
    *args: str, answer: str, path: str, home: Path
) -> subprocess.CompletedProcess[str]:
    """``make(*args)`` with a terminal as its standard input, on which ``answer`` is typed."""
    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "PULUMI"))}
    env.update(PATH=path, HOME=str(home), LEVEL_ILERT_CACHE=str(home / "cache"),
               PULUMI_HOME=str(home / ".pulumi"))
    try:
        os.write(controller, f"{answer}\n".encode())
        return subprocess.run(
            [str(MAKE), "--no-print-directory", "-s", "-C", str(ROOT), *args],
            stdin=terminal, capture_output=True, text=True, env=env, timeout=60, check=False,
        )
    finally:
        os.close(terminal)
        os.close(controller)


def test_rotate_saves_the_credentials_set_now_by_a_refresh_that_runs_the_program(
    stub_pulumi: tuple[str, Path], tmp_path: Path
) -> None:
    """`make rotate`, the one command a 401 after a key rotation names."""
    path, log = stub_pulumi
    logged_in(tmp_path, "https://api.pulumi.com")

    result = make("rotate", "STACK=dev", path=path, home=tmp_path)

    assert result.returncode == 0, result.stderr
    recorded = calls(log)
    assert [call["command"] for call in recorded] == [
        "stack select dev",
        "refresh --yes --skip-preview --run-program --stack dev --non-interactive",
    ]
    assert recorded[-1]["run_program"] == "true"


def test_a_pending_rename_keeps_the_program_out_of_refreshes_and_rotate_runs_an_up(
    stub_pulumi: tuple[str, Path], tmp_path: Path
) -> None:
    """The engine fails on a refresh that runs the program before an alias is moved
    (ops/refresh_mode.py): while the state still holds an old name, make runs without it, and
    make rotate saves the credentials with an up that performs the rename."""
    path, log = stub_pulumi
    logged_in(tmp_path, "https://api.pulumi.com")
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Makefile", "tools", "venv", "ops", "components", "clients", "icl",
                 "providers", *(p.name for p in ROOT.glob("requirements*"))):
        (project / name).symlink_to(ROOT / name)
    (project / "Pulumi.yaml").write_text("name: level-ilert\nruntime: python\n")
    (project / "Pulumi.prod.yaml").write_text(
        "config:\n  level-ilert:integrations:\n    - name: Level - Acme\n"
        "      resourceName: acme-2\n      previousResourceNames: [acme]\n"
    )
    state = {"deployment": {"resources": [
        {"urn": "urn:pulumi:prod::level-ilert::level-ilert:index:LevelIlertIntegration::acme"}]}}
    (tmp_path / "bin" / "state.json").write_text(json.dumps(state))
    stub = tmp_path / "bin" / "pulumi"
    export = f'if [ "$1 $2" = "stack export" ]; then cat {tmp_path}/bin/state.json; exit 0; fi\n'
    stub.write_text(stub.read_text().replace('if [ "$1 $2 $3"', export + 'if [ "$1 $2 $3"', 1))

    preview = make("-C", str(project), "preview", "STACK=prod", path=path, home=tmp_path)
    rotate = make("-C", str(project), "rotate", "STACK=prod", path=path, home=tmp_path)

    assert preview.returncode == 0, preview.stderr
    assert "do not run the program until its next `up` renames 'acme'" in preview.stderr
    assert rotate.returncode == 0, rotate.stderr
    assert "A rename (previousResourceNames) waits for its up" in rotate.stderr
    recorded = [call for call in calls(log) if not call["command"].startswith("stack")]
    assert [(call["command"], call["run_program"]) for call in recorded] == [
        ("preview --diff --stack prod --non-interactive", "false"),
        ("up --yes --refresh=false --stack prod --non-interactive", "false"),
    ]


def test_a_real_stack_reads_its_passphrase_from_where_it_is_kept(
    stub_pulumi: tuple[str, Path], tmp_path: Path
) -> None:
    """The kept file (LEVEL_ILERT_PASSPHRASES/<stack>) is exported for a real stack when the
    shell exports no passphrase; one the shell exports wins; a sandbox stack keeps its own."""
    path, log = stub_pulumi
    logged_in(tmp_path, "https://api.pulumi.com")
    kept = tmp_path / "passphrases"
    kept.mkdir()
    (kept / "dev").write_text("the passphrase\n", encoding="utf-8")
    (kept / "dev").chmod(0o600)
    where = f"LEVEL_ILERT_PASSPHRASES={kept}"

    assert make("preview", "STACK=dev", where, path=path, home=tmp_path).returncode == 0
    assert make("preview", "STACK=other", where, path=path, home=tmp_path).returncode == 0
    exported = make("preview", "STACK=dev", where, "PULUMI_CONFIG_PASSPHRASE=typed",
                    path=path, home=tmp_path)

    assert exported.returncode == 0, exported.stderr
    seen = [(call["command"], call["passphrase_file"], call["passphrase"])
            for call in calls(log) if call["command"].startswith("preview")]
    assert seen == [
        ("preview --diff --stack dev --non-interactive", str(kept / "dev"), ""),
        ("preview --diff --stack other --non-interactive", "", ""),
        ("preview --diff --stack dev --non-interactive", "", "typed"),
    ]


def test_a_passphrase_stack_without_its_passphrase_stops_naming_where_to_keep_it(
    stub_pulumi: tuple[str, Path], tmp_path: Path
) -> None:
    path, log = stub_pulumi
    logged_in(tmp_path, "https://api.pulumi.com")
    project = tmp_path / "project"  # the checkout's make, in a folder with this stack file
    project.mkdir()
    for name in ("Makefile", "tools", "venv", *(p.name for p in ROOT.glob("requirements*"))):
        (project / name).symlink_to(ROOT / name)
    (project / "Pulumi.prod.yaml").write_text("encryptionsalt: v1:abc\n", encoding="utf-8")

    result = make("-C", str(project), "preview", "STACK=prod",
                  f"LEVEL_ILERT_PASSPHRASES={tmp_path}", path=path, home=tmp_path)

    assert result.returncode == 2, result.stderr
    assert (
        "Stack 'prod' encrypts its secrets with a passphrase and none was found: keep it in "
        f"{tmp_path}/prod (mode 0600), or export PULUMI_CONFIG_PASSPHRASE"
    ) in result.stderr
    assert not log.exists()


def test_a_sandbox_named_stack_is_a_local_sandbox_stack_made_on_first_use(
    stub_pulumi: tuple[str, Path], tmp_path: Path
) -> None:
    path, _ = stub_pulumi

    result = make("-n", "up", "STACK=sandbox-b", path=path, home=tmp_path)

    assert result.returncode == 0, result.stderr
    assert f'PULUMI_BACKEND_URL="file://{ROOT}/.pulumi-state"' in result.stdout
    assert "stack select sandbox-b 2>&1)" in result.stdout
    assert "stack init sandbox-b" in result.stdout
    assert "up --yes --stack sandbox-b --non-interactive --event-log" in result.stdout


def test_a_real_stack_without_a_backend_stops_before_any_pulumi_command(
    stub_pulumi: tuple[str, Path], tmp_path: Path
) -> None:
    path, log = stub_pulumi

    result = make("up", "STACK=dev", path=path, home=tmp_path)

    assert result.returncode == 2
    assert "No Pulumi backend for stack 'dev': pass BACKEND_URL=<url>" in result.stderr
    assert not log.exists()


def test_a_missing_real_stack_is_never_created(
    stub_pulumi: tuple[str, Path], tmp_path: Path
) -> None:
    path, log = stub_pulumi

    result = make("up", "STACK=missing", "BACKEND_URL=file:///tmp/x", path=path, home=tmp_path)

    assert result.returncode == 2
    assert "pulumi stack init missing" in result.stderr
    assert [call["command"] for call in calls(log)] == ["stack select missing"]


def test_backend_url_wins_over_the_login_for_these_commands_only(
    stub_pulumi: tuple[str, Path], tmp_path: Path
) -> None:
    path, log = stub_pulumi
    logged_in(tmp_path, "https://api.pulumi.com")

    result = make("preview", "STACK=dev", "BACKEND_URL=s3://bucket/state", path=path,
                  home=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "login" not in " ".join(call["command"] for call in calls(log))
    assert {call["backend"] for call in calls(log)} == {"s3://bucket/state"}


def test_sandbox_up_starts_the_sandbox_and_creates_its_stack_in_a_local_folder(
    stub_pulumi: tuple[str, Path], tmp_path: Path
) -> None:
    path, _ = stub_pulumi

    result = make("-n", "up", path=path, home=tmp_path)  # dry run: the sandbox ports stay free

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "-m tools.pulumi_cli ensure" in out
    assert "-m sandbox --state .sandbox/world.json" in out
    assert "mkdir -p .pulumi-state" in out
    assert f'PULUMI_BACKEND_URL="file://{ROOT}/.pulumi-state"' in out
    assert "stack select sandbox 2>&1)" in out
    assert "pulumi up --yes --stack sandbox --non-interactive --event-log" in out
    assert out.index("-m tools.pulumi_cli ensure") < out.index("-m sandbox")
    assert out.index("-m sandbox") < out.index("pulumi up")


@pytest.mark.parametrize(("setting", "skip"), [((), ""), (("CHECKPOINTS=off",), "true")])
def test_pulumi_commands_keep_checkpoints_unless_told_off(
    tmp_path: Path, setting: tuple[str, ...], skip: str
) -> None:
    """Checkpoints on, as Pulumi's default: a killed run leaves its pending creates; off only
    for large stacks, whose state the CLI would rewrite after every step."""
    log = tmp_path / "env.log"
    stub = tmp_path / "bin" / "pulumi"
    stub.parent.mkdir()
    stub.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = version ]; then echo v{PIN}; exit 0; fi\n'
        f'echo "$1 skip=${{PULUMI_SKIP_CHECKPOINTS:-}}" >> {log}\n',
        encoding="utf-8",
    )
    stub.chmod(0o755)

    result = make(
        "destroy", "STACK=dev", "YES=dev", "BACKEND_URL=file:///nowhere", *setting,
        path=f"{stub.parent}:{ROOT / 'venv' / 'bin'}:/usr/bin:/bin", home=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    lines = log.read_text(encoding="utf-8").splitlines()
    assert lines == [f"stack skip={skip}", f"destroy skip={skip}"]


def test_discover_passes_its_options_and_calls_no_pulumi(
    stub_pulumi: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, log = stub_pulumi
    for name in ("ILERT_API_TOKEN", "LEVEL_API_KEY", "ILERT_BASE_URL", "LEVEL_BASE_URL"):
        monkeypatch.delenv(name, raising=False)

    result = make("discover", "STACK=nowhere", "PRINT=1", "JSON=1", path=path, home=tmp_path)

    assert result.returncode == 2  # no credential: discover could not run
    report = json.loads(result.stdout)
    assert (report["command"], report["stack"], report["ok"]) == ("discover", "nowhere", False)
    assert "export ILERT_API_TOKEN" in report["error"]
    assert not (ROOT / "Pulumi.nowhere.yaml").exists()
    assert not log.exists()  # no credential: it stopped before reading anything


def test_up_with_adopt_clears_pending_creates_then_takes_every_object_over(
    stub_pulumi: tuple[str, Path], tmp_path: Path
) -> None:
    """`make up ADOPT=1`, the one command a refused duplicate names."""
    path, log = stub_pulumi
    logged_in(tmp_path, "https://api.pulumi.com")

    result = make("up", "STACK=dev", "ADOPT=1", path=path, home=tmp_path)

    assert result.returncode == 0, result.stderr
    recorded = calls(log)
    assert [call["command"] for call in recorded] == [
        "stack select dev",
        "refresh --clear-pending-creates --yes --skip-preview --stack dev --non-interactive",
        "up --yes --stack dev --non-interactive",
    ]
    assert recorded[-1]["adopt"] == "1"

    log.unlink()
    assert make("up", "STACK=dev", path=path, home=tmp_path).returncode == 0
    plain = calls(log)
    assert [call["command"] for call in plain] == [
        "stack select dev", "up --yes --stack dev --non-interactive",
    ]
    assert plain[-1]["adopt"] == ""


def test_preview_and_up_explain_a_rename_from_the_clis_own_events(tmp_path: Path) -> None:
    """make preview/up pass the CLI an event log (PULUMI_DEBUG_COMMANDS shows the flag) and
    ops/renames.py reads it: a stub CLI that plans a rename, as the real one does."""
    parent = "level-ilert:index:LevelIlertIntegration$pulumi-python:dynamic/ilert:AlertSource"
    steps = [
        {"resourcePreEvent": {"metadata": {
            "op": op, "urn": f"urn:pulumi:dev::level-ilert::{parent}::{name}", "type": "",
            side: {"inputs": {"name": title}}}}}
        for op, name, side, title in (("create", "level-acme-inc", "new", "Level - Acme Inc"),
                                      ("delete", "level-acme", "old", "Level - Acme"))
    ]
    stub = tmp_path / "bin" / "pulumi"
    stub.parent.mkdir()
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(step) + "\n" for step in steps))
    stub.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = version ]; then echo v{PIN}; exit 0; fi\n'
        'while [ $# -gt 0 ]; do if [ "$1" = --event-log ]; then '
        f'[ "$PULUMI_DEBUG_COMMANDS" = true ] && cp {events} "$2"; fi; shift; done\n',
        encoding="utf-8",
    )
    stub.chmod(0o755)
    logged_in(tmp_path, "https://api.pulumi.com")
    path = f"{stub.parent}:{ROOT / 'venv' / 'bin'}:/usr/bin:/bin"

    preview = make("preview", "STACK=dev", path=path, home=tmp_path)
    up = make("up", "STACK=dev", path=path, home=tmp_path)

    assert preview.returncode == 0, preview.stderr
    assert ("note: level-ilert:integrations ('Level - Acme Inc', was 'Level - Acme') will be "
            "replaced, not renamed") in preview.stderr
    assert "    resourceName: level-acme\n" in preview.stderr
    assert up.returncode == 0, up.stderr
    assert "('Level - Acme Inc', was 'Level - Acme') was replaced, not renamed" in up.stderr


def test_after_destroy_the_stack_rm_hint_is_a_make_command_that_works_as_typed(
    stub_pulumi: tuple[str, Path], tmp_path: Path
) -> None:
    path, log = stub_pulumi
    logged_in(tmp_path, "https://api.pulumi.com")

    destroyed = make("destroy", "STACK=dev", "YES=dev", path=path, home=tmp_path)
    hint = re.search(r"make stack-rm STACK=dev BACKEND_URL=\S+", destroyed.stderr)
    assert hint, destroyed.stderr
    removed = make(*hint[0].split()[1:], path=path, home=tmp_path)

    assert removed.returncode == 0, removed.stderr
    assert calls(log)[-1]["command"] == (
        "stack rm --yes --preserve-config --stack dev --non-interactive")  # the file stays
    assert calls(log)[-1]["backend"] == "https://api.pulumi.com"


def test_discover_looks_for_other_stacks_on_makes_backend(
    stub_pulumi: tuple[str, Path], tmp_path: Path
) -> None:
    path, _ = stub_pulumi

    sandbox = make("-n", "discover", "STACK=sandbox-x", path=path, home=tmp_path)

    assert sandbox.returncode == 0, sandbox.stderr
    assert f'PULUMI_BACKEND_URL="file://{ROOT}/.pulumi-state"' in sandbox.stdout
    assert "-m ops discover --stack sandbox-x" in sandbox.stdout


def stub_cli(folder: Path, body: str) -> str:
    """A `pulumi` that says it is the pinned version and then runs ``body``: the PATH with it
    first (then the venv and the system)."""
    stub = folder / "bin" / "pulumi"
    stub.parent.mkdir()
    stub.write_text(f'#!/bin/sh\nif [ "$1" = version ]; then echo v{PIN}; exit 0; fi\n{body}',
                    encoding="utf-8")
    stub.chmod(0o755)
    return f"{stub.parent}:{ROOT / 'venv' / 'bin'}:/usr/bin:/bin"


@pytest.mark.parametrize(
    ("select_says", "inits"),
    [("error: no stack named 'sandbox-b' found", True),
     ("error: failed to load checkpoint: EOF", False)],
)
def test_a_sandbox_stack_is_made_only_when_the_cli_says_it_does_not_exist(
    tmp_path: Path, select_says: str, inits: bool
) -> None:
    """A state the CLI cannot load (a run killed inside a checkpoint write) must never be
    answered with `stack init`, which writes an empty state over it."""
    log = tmp_path / "calls.log"
    path = stub_cli(tmp_path, f'echo "$*" >> {log}\n'
                    f'if [ "$1 $2" = "stack select" ]; then echo "{select_says}" >&2; exit 1; fi\n')
    planned = make("-n", "stack", "STACK=sandbox-b", path=path, home=tmp_path)
    assert planned.returncode == 0, planned.stderr
    lines = planned.stdout.splitlines()
    first = next(i for i, text in enumerate(lines) if "stack select" in text)
    last = next(i for i in range(first, len(lines)) if "esac" in lines[i])
    line = "\n".join(lines[first:last + 1])  # the recipe line, its continuations included

    ran = subprocess.run(  # the recipe's own shell line, with the stub as the CLI
        [shutil.which("bash") or "/bin/bash", "-c", line],
        capture_output=True, text=True, timeout=30, check=False,
        env={"PATH": path, "HOME": str(tmp_path)}, cwd=tmp_path,
    )

    calls = log.read_text(encoding="utf-8").splitlines()
    if inits:
        assert ran.returncode == 0, ran.stderr
        assert calls[-1].startswith("stack init sandbox-b")
    else:
        assert ran.returncode == 2
        assert "failed to load checkpoint: EOF" in ran.stderr
        assert not any(call.startswith("stack init") for call in calls)


@pytest.mark.parametrize(("management", "warned"), [("manual", True), ('"manual"', True),
                                                      ("api", False)])
def test_destroy_in_manual_mode_says_the_hand_made_webhooks_stay(
    tmp_path: Path, management: str, warned: bool
) -> None:
    """No API deletes a webhook made in Level's UI: after destroy, Level would send to URLs
    that no longer exist, so the user is told to delete them."""
    path = stub_cli(tmp_path, "exit 0\n")
    planned = make("-n", "destroy", "STACK=sandbox-manual", path=path, home=tmp_path)
    assert planned.returncode == 0, planned.stderr
    lines = planned.stdout.splitlines()
    first = next(i for i, text in enumerate(lines) if "webhookManagement" in text)
    line = "\n".join(lines[first:first + 4])  # the recipe line and its continuations
    (tmp_path / "Pulumi.sandbox-manual.yaml").write_text(
        f"config:\n  level:webhookManagement: {management}\n", encoding="utf-8")

    ran = subprocess.run([shutil.which("bash") or "/bin/bash", "-c", line], cwd=tmp_path,
                         capture_output=True, text=True, timeout=30, check=False)

    assert ran.returncode == 0
    assert ("delete them in Level (Settings > Webhooks)" in ran.stderr) is warned
