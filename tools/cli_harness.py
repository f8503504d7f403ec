"""The real Pulumi CLI against the sandbox, in a temporary copy of the project.

``Project`` copies the program (``__main__.py``, ``Pulumi.yaml`` and the packages it imports:
``providers/``, ``components/``, ``clients/``, ``icl/``) into a temporary folder with the
checkout's venv linked in, gives it its own ``file://`` backend, ``PULUMI_HOME`` and stack
file (``Pulumi.<stack>.yaml`` pointing at a sandbox on free ports), and runs ``pulumi`` there
with the Makefile's runtime hygiene: no update check, no plugin download, the venv first on
PATH. Nothing touches the user's backend, ``.pulumi-state``, a sandbox on the fixed ports, or
the internet.

Every command and what it printed is kept (``runs``), so a test can prove that no secret was
ever shown or stored (``plaintext_hits`` also reads the backend's files and the stack file).

Used by the e2e stories (``tests/cli``, through ``tests/cli/harness.py``) and by the
benchmarks (``bench/cli.py``); it lives in ``tools/`` because ``bench/`` imports nothing from
``tests/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sandbox import ILERT_TOKEN, LEVEL_API_KEY, Sandbox
from tools import pulumi_cli

REPO = Path(__file__).resolve().parents[1]
PROGRAM = (
    "__main__.py", "Pulumi.yaml", "requirements.txt", "providers", "components", "clients", "icl",
)
PASSPHRASE = "e2e-passphrase"  # noqa: S105 (the throw-away copy's, printed in no output)
COMMAND_TIMEOUT_SECONDS = 240
EXIT_DRIFT = 7
# What `make drift` and .github/workflows/drift.yml add: the preflight skips its write probe.
DRIFT_ENV = {"LEVEL_ILERT_PREFLIGHT": "read-only"}


def cli_dir() -> Path:
    """The directory of the CLI that `make pulumi` found or built (``PULUMI_DIR`` from make)."""
    return Path(os.environ.get("PULUMI_DIR") or pulumi_cli.pulumi_dir())


@dataclass(frozen=True)
class Run:
    """One finished CLI command."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def out(self) -> str:
        return self.stdout + self.stderr

    def __str__(self) -> str:
        command = f"pulumi {' '.join(self.args)}"
        return f"{command} -> exit {self.code} in {self.seconds:.1f} s\n{self.out}"


class Project:
    """A copy of the project with its own backend and one stack, driven through the CLI."""

    def __init__(self, root: Path, sandbox: Sandbox, stack: str = "e2e") -> None:
        self.root = root
        self.sandbox = sandbox
        self.stack = stack
        self.runs: list[Run] = []
        root.mkdir(parents=True, exist_ok=True)
        for name in PROGRAM:
            source = REPO / name
            if source.is_dir():
                shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, root / name)
        (root / "venv").symlink_to(REPO / "venv")
        self.backend = root / ".state"
        self.backend.mkdir()
        self.home = root / ".pulumi-home"
        self.env = self._env()

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
        env.update(
            PULUMI_BACKEND_URL=f"file://{self.backend}",
            PULUMI_HOME=str(self.home),
            PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
            PULUMI_SKIP_UPDATE_CHECK="true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
            PATH=f"{REPO / 'venv' / 'bin'}:{cli_dir()}:/usr/bin:/bin",
            ILERT_API_TOKEN=ILERT_TOKEN,
            LEVEL_API_KEY=LEVEL_API_KEY,
        )
        return env

    # ---------------------------------------------------------------------- the stack file

    def write_stack(
        self,
        integrations: Sequence[Mapping[str, Any]] | None,
        *,
        config: Mapping[str, Any] | None = None,
        keep_secrets: bool = True,
    ) -> None:
        """Write ``Pulumi.<stack>.yaml``: the sandbox's URLs, ``integrations``, extra config.

        Secure values set earlier with ``config_set_secret`` are kept unless told otherwise;
        a key given as None in ``config`` is left out (``level:baseUrl`` in manual mode).
        """
        path = self.stack_file
        old = yaml.safe_load(path.read_text()) if path.exists() else {}
        old_config = (old or {}).get("config") or {}
        values: dict[str, Any] = {
            "ilert:baseUrl": self.sandbox.ilert_url,
            "level:baseUrl": self.sandbox.level_url,
        }
        if keep_secrets:
            values.update({k: v for k, v in old_config.items() if isinstance(v, dict)})
        if integrations is not None:
            entries = [dict(entry) for entry in integrations]
            if keep_secrets:  # `config set --secret --path` values inside the list
                old_entries = old_config.get("level-ilert:integrations") or []
                for entry, old_entry in zip(entries, old_entries, strict=False):
                    secure = {k: v for k, v in old_entry.items() if isinstance(v, dict)}
                    entry.update({k: v for k, v in secure.items() if k not in entry})
            values["level-ilert:integrations"] = entries
        values.update(config or {})
        values = {key: value for key, value in values.items() if value is not None}
        document: dict[str, Any] = {"config": values}
        if old and "encryptionsalt" in old:
            document["encryptionsalt"] = old["encryptionsalt"]
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")

    @property
    def stack_file(self) -> Path:
        return self.root / f"Pulumi.{self.stack}.yaml"

    # ------------------------------------------------------------------------- commands

    def pulumi(self, *args: str, env: Mapping[str, str] | None = None) -> Run:
        """Run one command in the project (always ``--non-interactive``, never a prompt)."""
        full = (*args, "--non-interactive")
        started = time.monotonic()
        done = subprocess.run(  # noqa: S603 (the pinned CLI, our own arguments)
            [str(cli_dir() / "pulumi"), *full],
            cwd=self.root,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )
        run = Run(full, done.returncode, done.stdout, done.stderr, time.monotonic() - started)
        self.runs.append(run)
        return run

    def ok(self, *args: str, env: Mapping[str, str] | None = None) -> Run:
        """``pulumi(*args)``, which must exit 0 (the whole output in the failure)."""
        run = self.pulumi(*args, env=env)
        assert run.code == 0, str(run)
        return run

    def init(self) -> Run:
        return self.ok("stack", "init", self.stack)

    def up(self, *args: str) -> Run:
        return self.ok("up", "--yes", "--stack", self.stack, *args)

    def preview(self, *args: str) -> Run:
        return self.pulumi("preview", "--diff", "--stack", self.stack, *args)

    def drift(self) -> Run:
        """``make drift``'s command, with its environment (a read-only preflight)."""
        return self.pulumi(
            "preview", "--diff", "--stack", self.stack, "--refresh", "--expect-no-changes",
            env=DRIFT_ENV,
        )

    def drift_json(self) -> tuple[Run, dict[str, Any]]:
        """The drift workflow's command: ``preview --refresh --expect-no-changes --json``."""
        run = self.pulumi(
            "preview", "--refresh", "--expect-no-changes", "--json", "--stack", self.stack,
            env=DRIFT_ENV,
        )
        return run, json.loads(run.stdout)

    def destroy(self) -> Run:
        return self.ok("destroy", "--yes", "--stack", self.stack)

    def config_set_secret(self, key: str, value: str, *, path: bool = False) -> None:
        """``pulumi config set --secret`` (the value never reaches the printed lines)."""
        args = ["config", "set", "--secret", "--stack", self.stack]
        if path:
            args.append("--path")
        self.ok(*args, key, value)

    def outputs(self, *, show_secrets: bool = False) -> dict[str, Any]:
        args = ["stack", "output", "--json", "--stack", self.stack]
        if show_secrets:
            args.append("--show-secrets")
        document: dict[str, Any] = json.loads(self.ok(*args).stdout)
        return document

    def export(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(
            self.ok("stack", "export", "--stack", self.stack).stdout
        )
        return document

    def urn(self, type_token: str, name: str) -> str:
        """The URN of a resource of this stack (children of the integration component)."""
        parent = "level-ilert:index:LevelIlertIntegration"
        return f"urn:pulumi:{self.stack}::level-ilert::{parent}${type_token}::{name}"

    # ---------------------------------------------------------------------- observations

    def backend_text(self) -> str:
        """Every file the backend holds (state, backups, history), as text."""
        return "\n".join(
            path.read_text(encoding="utf-8", errors="replace")
            for path in sorted(self.backend.rglob("*"))
            if path.is_file()
        )

    def plaintext_hits(self, secrets: Iterable[str]) -> dict[str, int]:
        """Where each secret appears in plain text (``<secret start>... in <where>``: a
        command's output, a backend file or the stack file) and how often. Commands that
        were asked to show secrets (``--show-secrets``) are left out."""
        texts = {
            f"output of pulumi {' '.join(run.args)}": run.out
            for run in self.runs
            if "--show-secrets" not in run.args
        }
        for path in sorted(self.backend.rglob("*")):
            if path.is_file():
                texts[str(path.relative_to(self.root))] = path.read_text("utf-8", "replace")
        if self.stack_file.exists():
            texts[self.stack_file.name] = self.stack_file.read_text(encoding="utf-8")
        hits: dict[str, int] = {}
        for secret in set(secrets):
            for where, text in texts.items():
                if text.count(secret):
                    hits[f"{secret[:6]}... in {where}"] = text.count(secret)
        return hits

    @property
    def printed(self) -> list[str]:
        """Everything each command printed so far, in order."""
        return [run.out for run in self.runs]

    def warnings(self) -> list[str]:
        """Every ``warning:`` line the CLI printed."""
        return [
            line.strip()
            for text in self.printed
            for line in text.splitlines()
            if line.strip().startswith("warning:")
        ]


def sandbox_secrets(sandbox: Sandbox) -> list[str]:
    """What must never be printed or stored in plain text: credentials, keys, URLs."""
    found = [ILERT_TOKEN, LEVEL_API_KEY]
    for source in sandbox.ilert_alert_sources():
        found.extend([source["integrationKey"], source["integrationUrl"]])
    return found
