"""The e2e harness's project copy (tools/cli_harness.py) with several ``sandbox*`` stacks, as the
fleet runs them: state in ``.pulumi-state`` and the sandbox's passphrase, like ``make up``.

``add_stack`` writes and inits one stack (one integration per name, escalation policy
Default); ``fleet`` runs ``python -m ops fleet ... --project-dir <copy>`` from the checkout
with the harness's environment, less what the fleet sets per stack itself (backend,
passphrase, credentials), and keeps it in ``runs`` like every CLI command.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ops.fleet.stacks import SANDBOX_PASSPHRASE, STATE_DIR
from sandbox import Sandbox
from tools.cli_harness import COMMAND_TIMEOUT_SECONDS, REPO, Project, Run, cli_dir

SET_BY_THE_FLEET = (
    "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "ILERT_API_TOKEN", "LEVEL_API_KEY",
)


class FleetProject(Project):
    """A project copy whose stacks are all ``sandbox*`` stacks on ``.pulumi-state``."""

    def __init__(self, root: Path, sandbox: Sandbox) -> None:
        super().__init__(root, sandbox, stack="sandbox")
        self.backend = root / STATE_DIR
        self.backend.mkdir()
        self.env.update(
            PULUMI_BACKEND_URL=f"file://{self.backend}",
            PULUMI_CONFIG_PASSPHRASE=SANDBOX_PASSPHRASE,
        )

    def add_stack(
        self,
        name: str,
        integrations: Sequence[str | Mapping[str, Any]],
        *,
        secrets: Mapping[str, str] | None = None,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        """``Pulumi.<name>.yaml`` with these integrations (a name, or the entry's settings;
        escalation policy Default unless given) and plain ``settings``, the stack created, and
        ``secrets`` set as secure config."""
        self.stack = name
        entries = [
            {"escalationPolicy": "Default",
             **({"name": entry} if isinstance(entry, str) else dict(entry))}
            for entry in integrations
        ]
        self.write_stack(entries, config=settings)
        self.init()
        for key, value in (secrets or {}).items():
            self.config_set_secret(key, value)

    def fleet(self, *args: str) -> Run:
        """``python -m ops fleet ARGS`` on this copy (no terminal: plain progress, stdin empty)."""
        env = {key: value for key, value in self.env.items() if key not in SET_BY_THE_FLEET}
        env["PULUMI_DIR"] = str(cli_dir())
        full = ("fleet", *args, "--project-dir", str(self.root))
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "ops", *full],
            cwd=REPO, env=env, input="", capture_output=True, text=True,
            timeout=COMMAND_TIMEOUT_SECONDS * 2, check=False,
        )
        run = Run(full, done.returncode, done.stdout, done.stderr, time.monotonic() - started)
        self.runs.append(run)
        return run
