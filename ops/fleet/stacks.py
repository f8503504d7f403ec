"""Which stacks a fleet run covers, and the environment each one runs in.

The same hygiene as the Makefile: the pinned Pulumi CLI (``tools.pulumi_cli``, or
``$PULUMI_DIR``), the project's venv first on PATH (Pulumi's Python language host runs
``python3`` from PATH), no update check, no plugin download, and always an explicit
``PULUMI_BACKEND_URL`` (never a default login). Stacks whose name starts with ``sandbox``
run as ``make up`` runs the sandbox stack: state in ``./.pulumi-state``, the sandbox's fixed
credentials and passphrase, whatever the shell exports. Any other stack uses
``BACKEND_URL``/``PULUMI_BACKEND_URL`` if set, else the backend of the current ``pulumi
login``, with the credentials and passphrase of the environment.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from pulumi import automation as auto

from ops import sandbox_stack
from tools import pulumi_cli

SANDBOX_PREFIX: Final = sandbox_stack.PREFIX
STATE_DIR: Final = sandbox_stack.STATE_DIR
# The Makefile's, for sandbox stacks only: it guards nothing but the sandbox's local state.
SANDBOX_PASSPHRASE: Final = sandbox_stack.PASSPHRASE
HYGIENE: Final = {
    "PULUMI_SKIP_UPDATE_CHECK": "true",
    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
}


class FleetError(Exception):
    """The fleet cannot run at all (no CLI, no backend); the message says what to do."""


@dataclass(frozen=True)
class Target:
    """One stack of the fleet: its name, backend, and the environment its CLI runs with."""

    name: str
    backend: str
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def sandbox(self) -> bool:
        """True for stacks that run against the local sandbox."""
        return is_sandbox(self.name)


def is_sandbox(name: str) -> bool:
    """Stacks named ``sandbox*`` run against the local sandbox, as the sandbox stack does."""
    return sandbox_stack.is_sandbox(name)


def stack_files(project_dir: Path) -> list[str]:
    """The stack names of every ``Pulumi.<stack>.yaml`` in the project, sorted."""
    names = []
    for path in project_dir.glob("Pulumi.*.yaml"):
        name = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        if name:
            names.append(name)
    return sorted(names)


def prepare_cli(project_dir: Path, environ: dict[str, str] | None = None) -> Path:
    """Put the pinned CLI and the project's venv on this process's PATH, with the
    Makefile's hygiene; returns the CLI's directory. (The Automation API runs ``pulumi``
    from this process's environment, so it is set here, once, before any workspace.)"""
    env = os.environ if environ is None else environ
    explicit = env.get("PULUMI_DIR", "").strip()
    cli_dir = Path(explicit) if explicit else pulumi_cli.pulumi_dir()
    if not os.access(cli_dir / "pulumi", os.X_OK):
        raise FleetError(
            f"The Pulumi CLI is not in {cli_dir}: run `make pulumi` (it builds the pinned "
            f"version), or set PULUMI_DIR to the folder of a pulumi {pulumi_cli.pinned_version()}."
        )
    venv_bin = project_dir / "venv" / "bin"
    python_bin = venv_bin if venv_bin.is_dir() else Path(sys.executable).parent
    parts = [str(python_bin), str(cli_dir), *env.get("PATH", "").split(os.pathsep)]
    env["PATH"] = os.pathsep.join(dict.fromkeys(part for part in parts if part))
    env.update(HYGIENE)
    return cli_dir


def sandbox_backend(project_dir: Path) -> str:
    """The sandbox stacks' backend: ``./.pulumi-state``, as in the Makefile."""
    return sandbox_stack.backend(project_dir)


def real_backend(environ: Mapping[str, str]) -> str | None:
    """``BACKEND_URL``, else ``PULUMI_BACKEND_URL``, else the current ``pulumi login``."""
    for key in ("BACKEND_URL", "PULUMI_BACKEND_URL"):
        value = environ.get(key, "").strip()
        if value:
            return value
    return pulumi_cli.current_backend()


def target_for(name: str, project_dir: Path, environ: Mapping[str, str]) -> Target:
    """The backend and environment of stack ``name``."""
    if is_sandbox(name):
        backend = sandbox_backend(project_dir)
        env = {
            "PULUMI_BACKEND_URL": backend,
            "ILERT_API_TOKEN": sandbox_stack.ILERT_TOKEN,
            "LEVEL_API_KEY": sandbox_stack.LEVEL_API_KEY,
            "PULUMI_CONFIG_PASSPHRASE": SANDBOX_PASSPHRASE,
        }
        return Target(name, backend, env)
    found = real_backend(environ)
    if found is None:
        raise FleetError(
            f"No Pulumi backend for stack '{name}': pass BACKEND_URL=<url> (file://..., "
            f"s3://..., https://api.pulumi.com) or run 'pulumi login' first."
        )
    return Target(name, found, {"PULUMI_BACKEND_URL": found})


def existing_stacks(backend: str, project_dir: Path, env: Mapping[str, str]) -> set[str]:
    """The names of this project's stacks on ``backend`` (``pulumi stack ls``)."""
    return set(resource_counts(backend, project_dir, env))


def resource_counts(
    backend: str, project_dir: Path, env: Mapping[str, str]
) -> dict[str, int | None]:
    """This project's stacks on ``backend``, each with the number of resources it holds (None
    when the backend does not say)."""
    if backend.startswith("file://") and not Path(backend.removeprefix("file://")).is_dir():
        return {}
    workspace = auto.LocalWorkspace(work_dir=str(project_dir), env_vars=dict(env))
    return {summary.name: summary.resource_count for summary in workspace.list_stacks()}


@dataclass(frozen=True)
class Selection:
    """The stacks to run, and the stack files left out because their stack does not exist."""

    targets: list[Target]
    missing: list[str]
    searched: list[str]


def select(
    project_dir: Path, requested: Sequence[str], environ: Mapping[str, str]
) -> Selection:
    """The fleet: ``requested`` stacks, or every stack file whose stack exists on its backend.

    A requested stack that does not exist is kept (its run fails, naming the fix), and one
    without a backend stops the fleet. Without a request, stack files whose stack does not
    exist, or that have no backend, are left out and named.
    """
    if requested:
        targets = [target_for(name, project_dir, environ) for name in dict.fromkeys(requested)]
        return Selection(targets, [], backends(targets))
    names = stack_files(project_dir)
    if not names:
        raise FleetError(f"No Pulumi.<stack>.yaml in {project_dir}: nothing to run.")
    targets, missing = [], []
    for name in names:
        try:
            targets.append(target_for(name, project_dir, environ))
        except FleetError:  # no backend for the real stacks: the sandbox ones still run
            missing.append(f"{name} (no backend: pass BACKEND_URL or run pulumi login)")
    found: dict[str, set[str]] = {}
    for target in targets:
        if target.backend not in found:
            found[target.backend] = existing_stacks(target.backend, project_dir, target.env)
    kept = [target for target in targets if target.name in found[target.backend]]
    missing += [f"{target.name} (no such stack on {target.backend})" for target in targets
                if target.name not in found[target.backend]]
    return Selection(kept, missing, backends(targets))


def backends(targets: Iterable[Target]) -> list[str]:
    """The distinct backends of ``targets`` (for messages)."""
    return list(dict.fromkeys(target.backend for target in targets))
