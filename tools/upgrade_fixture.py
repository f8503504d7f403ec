"""Make the state an old release left behind, for the upgrade story (tests/cli/test_upgrade.py).

A stack's state holds the provider objects pickled by the release that last wrote it, its
input and output names, and the sandbox world it describes. This script makes such a state
with the release itself, through the real Pulumi CLI, and saves it as a fixture::

    venv/bin/python -m tools.upgrade_fixture a8a059f fe1e988     # regenerate both fixtures

(one or more release commits; ``--keep`` leaves the temporary folder for a look). For each
release it:

1. extracts the commit with ``git archive`` into a temporary folder;
2. uses ``venv/`` of this checkout when the release's ``requirements.lock`` (before the
   lock: ``requirements.txt``) is the same as this checkout's, else builds a venv from it
   (a lock with ``pip --require-hashes``; cached under
   ``$LEVEL_ILERT_CACHE/upgrade-venvs/<hash of that file>``; needs PyPI once);
3. starts that release's sandbox (``python -m sandbox --state world.json``) on two free
   loopback ports outside the kernel's ephemeral range, never the fixed 8790/8791;
4. writes ``Pulumi.sandbox.yaml`` with a representative stack of what that release supports
   (read from its ``components/settings.py``: with routing, several integrations with
   ``deviceGroups``, ``eventFilter``, teams, a policy by name and by id, a webhook secret and
   grouping; without, the settings of its own ``Pulumi.sandbox.yaml`` and more),
   credentials and the webhook secret set with ``pulumi config set --secret``;
5. runs ``pulumi stack init``, ``pulumi up`` and, as a check of the release itself,
   ``pulumi preview --refresh --expect-no-changes`` with the release's code and venv (the
   CLI is this checkout's: ``python -m tools.pulumi_cli dir``; file backend, no update
   check, no plugin download, the release's ``venv/bin`` first on PATH, as the Makefile);
6. writes ``tests/cli/fixtures/upgrade/<commit>/``: ``state.json`` (``pulumi stack
   export``; secrets stay encrypted with the sandbox's public passphrase
   ``level-ilert-sandbox``), ``world.json`` (the world the release's sandbox saved),
   ``Pulumi.sandbox.yaml`` (the stack file, its secure values encrypted), ``fixture.json``
   (ports, stack, passphrase, CLI and Python versions: what the test needs) and
   ``README.md`` (one line: how it was made).

Before writing, it checks that no credential, webhook secret, integration key or URL is in
plain text in the state or the stack file (the world file holds the sandbox's own records:
its public credentials and the test's webhook secret are part of it).

The upgrade test starts the current sandbox on the same ports (the alert sources'
``integrationUrl`` is made from the sandbox's own address, so another port would change
every URL), imports the state and runs the current code through the CLI.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tools import pulumi_cli

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "cli" / "fixtures" / "upgrade"
STACK = "sandbox"
# The sandbox stacks' fixed, public passphrase (Makefile): the fixture's secrets use it.
PASSPHRASE = "level-ilert-sandbox"  # noqa: S105 (public, as in the Makefile)
WEBHOOK_SECRETS = ("whsec-upgrade-acme-7d41", "whsec-upgrade-globex-93be")
# Loopback ports below Linux's (32768-60999) and macOS's (49152-65535) ephemeral ranges, so a
# client's connection does not take one between the fixture and the test.
PORT_RANGE = (20000, 32000)
COMMAND_TIMEOUT_SECONDS = 600
SANDBOX_START_SECONDS = 30.0


class FixtureError(RuntimeError):
    """The release could not make its fixture; the message says which step and why."""


def log(message: str) -> None:
    print(f"upgrade_fixture: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the stack file


def routing_stack() -> list[dict[str, Any]]:
    """Release N-1 (a8a059f) and later: an MSP's routing, by client and by severity."""
    return [
        {
            "name": "Level - Acme Corp",
            "escalationPolicy": "Default",  # by name
            "deviceGroups": ["Acme Corp"],
            "eventFilter": "event.customDetails.severity != 'emergency'",
            "alertCreation": "ONE_ALERT_GROUPED_PER_WINDOW",
            "alertGroupingWindow": "PT5M",
            "alertPriorityRule": "HIGH",
            "autoResolutionTimeout": "PT2H",
        },
        {
            "name": "Level - Globex",
            "escalationPolicy": 2,  # by id
            "resourceName": "globex",
            "deviceGroups": ["Globex"],
            "eventFilter": "event.customDetails.severity != 'emergency'",
            "alertCreation": "INTELLIGENT_GROUPING",
            "alertGroupingWindow": "PT15M",
            "teams": [2],
        },
        {
            "name": "Level - Emergencies (on-call)",
            "escalationPolicy": "On-call L1",
            "teams": [1, 2],
            "eventFilter": "event.customDetails.severity == 'emergency'",
            "alertPriorityRule": "LOW_DURING_SUPPORT_HOURS",
        },
    ]


def basic_stack() -> list[dict[str, Any]]:
    """Release N-2 (fe1e988): no device groups or event filter yet; every other setting."""
    return [
        {
            "name": "Level - Sandbox MSP",
            "escalationPolicy": "Default",  # by name
            "alertCreation": "ONE_ALERT_GROUPED_PER_WINDOW",
            "alertGroupingWindow": "PT5M",
            "alertPriorityRule": "HIGH",
            "autoResolutionTimeout": "PT2H",
        },
        {
            "name": "Level - Sandbox servers (on-call)",
            "escalationPolicy": 2,  # by id
            "resourceName": "servers-oncall",
            "teams": [1, 2],
            "alertCreation": "INTELLIGENT_GROUPING",
            "alertGroupingWindow": "PT15M",
        },
        {
            "name": "Level - Sandbox workstations",
            "escalationPolicy": "On-call L1",
            "alertPriorityRule": "LOW",
            "webhookEnabled": False,
        },
    ]


def stack_for(release: Path) -> list[dict[str, Any]]:
    """The representative stack of a release: routing keys if its settings know them."""
    settings = (release / "components" / "settings.py").read_text(encoding="utf-8")
    if "device_groups" in settings and "event_filter" in settings:
        return routing_stack()
    return basic_stack()


def stack_document(integrations: list[dict[str, Any]], ilert_url: str, level_url: str) -> str:
    document = {
        "config": {
            "ilert:baseUrl": ilert_url,
            "level:baseUrl": level_url,
            "level:webhookManagement": "api",
            "level-ilert:integrations": integrations,
        }
    }
    header = (
        "# Made by tools/upgrade_fixture.py for the upgrade story: credentials and webhook\n"
        "# secrets are secure values (the sandbox's public passphrase, level-ilert-sandbox).\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False)


# ------------------------------------------------------------------------------ the release


@dataclass(frozen=True)
class Release:
    commit: str  # as given (the fixture folder's name)
    full: str
    subject: str
    root: Path  # the extracted tree
    python: Path  # its venv's python
    venv_note: str


def git(*args: str) -> str:
    done = subprocess.run(  # noqa: S603 (git, with our own arguments)
        ["git", "-C", str(REPO), *args],  # noqa: S607 (git from PATH, as a developer runs it)
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise FixtureError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def extract(commit: str, target: Path) -> tuple[str, str]:
    """The commit's tree into ``target`` (git archive); returns (full hash, subject)."""
    full = git("rev-parse", "--verify", f"{commit}^{{commit}}").strip()
    subject = git("log", "-1", "--format=%s", full).strip()
    archive = subprocess.run(  # noqa: S603
        ["git", "-C", str(REPO), "archive", "--format=tar", full],  # noqa: S607
        capture_output=True,
        check=True,
    ).stdout
    target.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return full, subject


def base_python() -> Path:
    """The interpreter this checkout's venv was made from (the release's venv uses it too)."""
    done = subprocess.run(  # noqa: S603
        [str(REPO / "venv" / "bin" / "python"), "-c", "import sys; print(sys._base_executable)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(done.stdout.strip())


def venv_for(root: Path) -> tuple[Path, str]:
    """(the venv to run the release with, a note saying which): ours if the release's
    packages are ours, else one built (once, cached) from the release's own: its
    ``requirements.lock`` with hash checking where it has one (releases since the lock
    came), else its ``requirements.txt``."""
    spec = "requirements.lock" if (root / "requirements.lock").exists() else "requirements.txt"
    wanted = (root / spec).read_bytes()
    ours = REPO / spec
    if ours.exists() and wanted == ours.read_bytes():
        return REPO / "venv", f"this checkout's venv (same {spec})"
    digest = hashlib.sha256(wanted).hexdigest()[:16]
    venv = pulumi_cli.cache_root() / "upgrade-venvs" / digest
    note = f"a venv of its own {spec} (sha256 {digest})"
    if (venv / ".installed").exists():
        return venv, note
    log(f"building {venv} from the release's {spec} ...")
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(base_python()), "-m", "venv", str(venv)], check=True)  # noqa: S603
    hashes = ["--require-hashes"] if spec == "requirements.lock" else []
    subprocess.run(  # noqa: S603
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
         "--disable-pip-version-check", *hashes, "-r", str(root / spec)],
        check=True,
    )
    (venv / ".installed").write_text(wanted.decode("utf-8"), encoding="utf-8")
    return venv, note


# ------------------------------------------------------------------------------ the sandbox


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports in PORT_RANGE that nothing listens on now."""
    rng = random.SystemRandom()
    found: list[int] = []
    while len(found) < count:
        port = rng.randrange(*PORT_RANGE)
        if port in found:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
    return found


@dataclass
class RunningSandbox:
    process: subprocess.Popen[str]
    ilert_url: str
    level_url: str
    ilert_token: str
    level_key: str


def banner_value(lines: Sequence[str], label: str) -> str:
    """The first word after ``label`` in the sandbox's start banner."""
    for line in lines:
        text = line.strip()
        if text.startswith(label):
            return text[len(label):].split()[0]
    raise FixtureError(f"the sandbox's banner has no {label!r} line:\n" + "".join(lines))


@contextlib.contextmanager
def release_sandbox(
    release: Release, world: Path, ports: Sequence[int]
) -> Iterator[RunningSandbox]:
    """The release's own sandbox on ``ports``, saving its world to ``world``; stopped after."""
    process = subprocess.Popen(  # noqa: S603
        [str(release.python), "-m", "sandbox", "--ilert-port", str(ports[0]),
         "--level-port", str(ports[1]), "--state", str(world), "--quiet"],
        cwd=release.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + SANDBOX_START_SECONDS
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                raise FixtureError("the release's sandbox did not start:\n" + "".join(lines))
            lines.append(line)
            if line.startswith("(started in"):
                break
        else:
            raise FixtureError("the release's sandbox did not start in time")
        yield RunningSandbox(
            process,
            ilert_url=banner_value(lines, "ilert API:"),
            level_url=banner_value(lines, "Level API:"),
            ilert_token=banner_value(lines, "ilert API token:"),
            level_key=banner_value(lines, "Level API key (rw):"),
        )
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# -------------------------------------------------------------------------------- the CLI


class Cli:
    """``pulumi`` in the release's folder, with the Makefile's runtime hygiene."""

    def __init__(self, release: Release, work: Path) -> None:
        self.release = release
        self.cli = pulumi_cli.pulumi_dir()
        backend = work / "backend"
        backend.mkdir()
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "LEVEL_"))}
        for name in ("ILERT_API_TOKEN", "ILERT_BASE_URL"):
            keep.pop(name, None)
        venv_bin = release.python.parent
        self.env = {
            **keep,
            "PULUMI_BACKEND_URL": f"file://{backend}",
            "PULUMI_HOME": str(work / "pulumi-home"),
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PATH": f"{venv_bin}:{self.cli}:/usr/bin:/bin",
            # a8a059f's rate budgets (SQLite files), never in the user's cache.
            "LEVEL_ILERT_RATELIMIT_DIR": str(work / "ratelimit"),
        }
        self.outputs: list[str] = []

    def run(
        self, *args: str, ok: bool = True, secret: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """One command in the release's folder; ``secret``: its last argument is not shown."""
        full = [str(self.cli / "pulumi"), *args, "--non-interactive"]
        log("pulumi " + " ".join(args[:-1] if secret else args) + (" [secret]" if secret else ""))
        done = subprocess.run(  # noqa: S603
            full,
            cwd=self.release.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )
        self.outputs.append(done.stdout + done.stderr)
        if ok and done.returncode != 0:
            raise FixtureError(
                f"pulumi {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
            )
        return done

    def version(self) -> str:
        return pulumi_cli.cli_version(self.cli / "pulumi") or "unknown"


# ------------------------------------------------------------------------------- the fixture


def plaintext_found(texts: Mapping[str, str], secrets: Sequence[str]) -> list[str]:
    return [
        f"{secret[:6]}... in {where}"
        for where, text in texts.items()
        for secret in secrets
        if secret and secret in text
    ]


def world_secrets(world: Mapping[str, Any]) -> list[str]:
    """Integration keys of the world's alert sources, and its webhooks' secrets."""
    found: list[str] = []
    for source in world.get("alert_sources", {}).values():
        found.append(source["integration_key"])  # the integration URL ends with it
    found.extend(
        hook["secret"] for hook in world.get("webhooks", {}).values() if hook.get("secret")
    )
    return found


@dataclass
class Made:
    """What one release's run left: its state and stack file, where its world is, and
    every value that must not show in plain text."""

    state_text: str
    stack_text: str
    world: Path
    secrets: list[str]
    outputs: list[str]
    ports: list[int]
    integrations: int
    cli_version: str


def run_release(release: Release, work: Path) -> Made:
    """The release's sandbox, ``stack init``, secrets, ``up``, its own drift check, export."""
    integrations = stack_for(release.root)
    world = work / "world.json"
    ports = free_ports(2)
    cli = Cli(release, work)
    stack_file = release.root / f"Pulumi.{STACK}.yaml"
    with release_sandbox(release, world, ports) as sandbox:
        stack_file.write_text(
            stack_document(integrations, sandbox.ilert_url, sandbox.level_url), encoding="utf-8"
        )
        cli.run("stack", "init", STACK)
        secret = ("config", "set", "--secret", "--stack", STACK)
        cli.run(*secret, "ilert:apiToken", sandbox.ilert_token, secret=True)
        cli.run(*secret, "level:apiKey", sandbox.level_key, secret=True)
        for index, value in enumerate(WEBHOOK_SECRETS):
            key = f"level-ilert:integrations[{index}].webhookSecret"
            cli.run(*secret, "--path", key, value, secret=True)
        cli.run("up", "--yes", "--stack", STACK)
        drift = cli.run(
            "preview", "--refresh", "--expect-no-changes", "--diff", "--stack", STACK, ok=False
        )
        if drift.returncode != 0:
            raise FixtureError(
                f"the release's own drift check after its up is not clean (exit "
                f"{drift.returncode}), so its state is no reference:\n{drift.stdout}"
                f"{drift.stderr}"
            )
        state = json.loads(cli.run("stack", "export", "--stack", STACK).stdout)
    # The registrations' stack traces name files by their path from the project: the venv's,
    # through the link release/venv, is written as a user's own venv/ would be.
    venv_from_project = os.path.relpath(release.python.parent.parent, release.root)
    state_text = json.dumps(state, indent=1, sort_keys=True).replace(
        f"project:///{venv_from_project}/", "project:///venv/"
    ) + "\n"
    world_data = json.loads(world.read_text(encoding="utf-8"))
    return Made(
        state_text=state_text,
        stack_text=stack_file.read_text(encoding="utf-8"),
        world=world,
        secrets=[
            sandbox.ilert_token, sandbox.level_key, *WEBHOOK_SECRETS, *world_secrets(world_data)
        ],
        outputs=cli.outputs,
        ports=ports,
        integrations=len(integrations),
        cli_version=cli.version(),
    )


def check_clean(made: Made, work: Path) -> None:
    """No secret in plain text and no local path in the state or the stack file."""
    texts = {
        "state.json": made.state_text,
        f"Pulumi.{STACK}.yaml": made.stack_text,
        **{f"output {i}": text for i, text in enumerate(made.outputs)},
    }
    leaks = plaintext_found(texts, made.secrets)
    if leaks:
        raise FixtureError("plain-text secrets, so no fixture: " + ", ".join(leaks))
    for path in (str(work).lstrip("/"), str(REPO).lstrip("/")):
        if path in made.state_text or path in made.stack_text:
            raise FixtureError(f"the state or stack file holds a local path ({path})")


def write_fixture(release: Release, made: Made) -> Path:
    """``tests/cli/fixtures/upgrade/<commit>/``, replaced as a whole."""
    target = FIXTURES / release.commit
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    (target / "state.json").write_text(made.state_text, encoding="utf-8")
    shutil.copyfile(made.world, target / "world.json")
    (target / f"Pulumi.{STACK}.yaml").write_text(made.stack_text, encoding="utf-8")
    today = dt.datetime.now(dt.UTC).date().isoformat()
    python = ".".join(map(str, sys.version_info[:3]))
    meta = {
        "release": release.commit,
        "commit": release.full,
        "subject": release.subject,
        "project": "level-ilert",
        "stack": STACK,
        "passphrase": PASSPHRASE,
        "ilertPort": made.ports[0],
        "levelPort": made.ports[1],
        "integrations": made.integrations,
        "pulumiCli": made.cli_version,
        "python": python,
        "venv": release.venv_note,
        "made": today,
    }
    (target / "fixture.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    (target / "README.md").write_text(
        f"State of release {release.commit} ({release.subject}), made on {today} by "
        f"`venv/bin/python -m tools.upgrade_fixture {release.commit}`: that release's code, "
        f"sandbox and {release.venv_note} ran `pulumi up` of stack {STACK} "
        f"({made.integrations} integrations) with Pulumi CLI v{made.cli_version} on Python "
        f"{python}, its sandbox on 127.0.0.1:{made.ports[0]} (ilert) and :{made.ports[1]} "
        f"(Level), passphrase {PASSPHRASE}.\n",
        encoding="utf-8",
    )
    return target


def make_fixture(commit: str, *, keep: bool = False) -> Path:
    """Run the release and write its fixture folder; returns that folder."""
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix=f"upgrade-{commit}-"))
    try:
        root = work / "release"
        full, subject = extract(commit, root)
        venv, venv_note = venv_for(root)
        (root / "venv").symlink_to(venv)
        release = Release(commit, full, subject, root, venv / "bin" / "python", venv_note)
        log(f"{commit} ({subject}) with {venv_note}")
        made = run_release(release, work)
        check_clean(made, work)
        target = write_fixture(release, made)
        log(f"wrote {target.relative_to(REPO)} in {time.monotonic() - started:.0f} s")
        return target
    finally:
        if keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.upgrade_fixture",
        description="Write tests/cli/fixtures/upgrade/<commit>/ from a release's own pulumi up.",
    )
    parser.add_argument("commits", nargs="+", metavar="COMMIT", help="release commits")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    try:
        for commit in args.commits:
            make_fixture(commit, keep=args.keep)
    except (FixtureError, subprocess.CalledProcessError) as error:
        print(f"upgrade_fixture: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
