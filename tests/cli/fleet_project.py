"""A throw-away copy of this Pulumi project with sandbox stacks, for the real-CLI fleet tests.

The copy holds what ``pulumi up`` runs (``Pulumi.yaml``, ``__main__.py``, ``providers/``,
``components/``) and links the checkout's venv, so the stack files, state folder
(``.pulumi-state``) and Pulumi home the tests create never touch the checkout or the user's
``~/.pulumi``. Each stack file points at a sandbox on free ports. Commands run with the CLI
that ``make e2e`` found (``PULUMI_DIR``) and the Makefile's hygiene.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from ops.fleet.stacks import SANDBOX_PASSPHRASE
from sandbox import Sandbox
from tests.engine.harness import REPO_ROOT

COPIED = ("Pulumi.yaml", "__main__.py", "providers", "components")
TIMEOUT = 300


class FleetProject:
    """The project copy in ``root``; ``stack``, ``pulumi`` and ``fleet`` run commands in it."""

    def __init__(self, root: Path, sandbox: Sandbox) -> None:
        self.root = root
        self.sandbox = sandbox
        for name in COPIED:
            source = REPO_ROOT / name
            if source.is_dir():
                shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, root / name)
        (root / "venv").symlink_to(REPO_ROOT / "venv")
        (root / ".pulumi-state").mkdir()
        self.cli = str(Path(os.environ["PULUMI_DIR"]) / "pulumi")
        self.env = {
            **os.environ,
            "PULUMI_HOME": str(root / ".pulumi-home"),
            "LEVEL_ILERT_RATELIMIT_DIR": str(root / ".ratelimit"),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PATH": os.pathsep.join(
                [str(REPO_ROOT / "venv" / "bin"), os.environ["PULUMI_DIR"], os.environ["PATH"]]
            ),
        }
        for key in ("PULUMI_BACKEND_URL", "BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE",
                    "ILERT_API_TOKEN", "LEVEL_API_KEY", "PULUMI_ACCESS_TOKEN"):
            self.env.pop(key, None)

    def stack(
        self,
        name: str,
        integrations: Sequence[str],
        config: Mapping[str, str] | None = None,
        *,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        """Write ``Pulumi.<name>.yaml`` (one integration per name, plain ``settings``), init
        the stack, and set ``config`` as secrets."""
        lines = [
            "config:",
            f"  ilert:baseUrl: {self.sandbox.ilert_url}",
            f"  level:baseUrl: {self.sandbox.level_url}",
            *(f'  {key}: "{value}"' for key, value in (settings or {}).items()),
            "  level-ilert:integrations:",
        ]
        for integration in integrations:
            lines += [f"    - name: {integration}", "      escalationPolicy: Default"]
        (self.root / f"Pulumi.{name}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.pulumi("stack", "init", name)
        for key, value in (config or {}).items():
            self.pulumi("config", "set", "--secret", key, value, "--stack", name)

    def pulumi(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the CLI on the sandbox stacks' backend, as the Makefile does; fail loudly."""
        env = {
            **self.env,
            "PULUMI_BACKEND_URL": f"file://{self.root / '.pulumi-state'}",
            "PULUMI_CONFIG_PASSPHRASE": SANDBOX_PASSPHRASE,
        }
        done = subprocess.run(
            [self.cli, *args, "--non-interactive"], cwd=self.root, env=env,
            capture_output=True, text=True, timeout=TIMEOUT, check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def fleet(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """``python -m ops fleet ARGS --project-dir <copy>``, from the checkout."""
        return subprocess.run(
            [sys.executable, "-m", "ops", "fleet", *args, "--project-dir", str(self.root)],
            cwd=REPO_ROOT, env=self.env, input=stdin if stdin is not None else "",
            capture_output=True, text=True, timeout=TIMEOUT, check=False,
        )
