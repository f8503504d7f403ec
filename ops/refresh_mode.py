"""Whether a stack's refresh may run the program: ``python -m ops.refresh_mode --stack <s>``.

Prints ``true`` or ``false``, for ``PULUMI_RUN_PROGRAM`` (the CLI's ``--run-program``), and
exits 0. The Makefile and the drift workflow's check ask it before each command.

Why: Pulumi configures a refresh with the config saved in state at the stack's last update,
unless the refresh runs the program; so with the program a rotated key (new one set, old one
revoked) works at once, and without it the refresh sends the revoked key (401). But the
engine (CLI v3.274.1, measured) panics when a refresh that runs the program meets an alias it
has not moved yet: ``URN '...' had not been marked as seen``, the CLI dies and leaves the
stack locked. Our aliases come from ``previousResourceNames``, so the answer is ``false``
while one of those old names is still in the state (a rename the next ``up`` performs), and
``true`` otherwise. Only a stack file that lists ``previousResourceNames`` costs a look at the
state (``pulumi stack export``, no secrets); one that cannot be looked at answers ``false``.
Reasons for ``false`` go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import yaml

INTEGRATIONS_KEY = "level-ilert:integrations"
COMPONENT = "level-ilert:index:LevelIlertIntegration"
CLI_TIMEOUT_SECONDS = 120
Runner = Callable[..., "subprocess.CompletedProcess[str]"]


def previous_names(stack_file: Path) -> list[str]:
    """Every ``previousResourceNames`` entry of the stack file (none when unreadable: the
    program then reports the file's problem itself)."""
    try:
        document = yaml.safe_load(stack_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return []
    config = document.get("config") if isinstance(document, dict) else None
    entries = config.get(INTEGRATIONS_KEY) if isinstance(config, dict) else None
    names: list[str] = []
    for entry in entries if isinstance(entries, list) else []:
        previous = entry.get("previousResourceNames") if isinstance(entry, dict) else None
        if isinstance(previous, list):
            names.extend(str(name) for name in previous)
        elif isinstance(previous, str):
            names.append(previous)
    return names


def pending_moves(
    stack: str, project_dir: Path, environ: Mapping[str, str], *, run: Runner = subprocess.run
) -> tuple[list[str], str | None]:
    """The old names still in the state (a rename not done yet), or why the state could not
    be read; ``([], None)`` when nothing is pending."""
    old = previous_names(project_dir / f"Pulumi.{stack}.yaml")
    if not old:
        return [], None
    cli = shutil.which("pulumi", path=environ.get("PATH"))
    if cli is None:
        return [], "the Pulumi CLI is not on PATH to read the state"
    try:
        done = run(
            [cli, "stack", "export", "--stack", stack, "--non-interactive"], cwd=project_dir,
            env=dict(environ), stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=CLI_TIMEOUT_SECONDS, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [], f"`pulumi stack export` did not run ({exc})"
    if done.returncode != 0:
        lines = [line for line in (done.stderr or "").splitlines() if line.strip()]
        return [], f"`pulumi stack export` failed: {lines[-1][:200] if lines else done.returncode}"
    try:
        resources = json.loads(done.stdout).get("deployment", {}).get("resources") or []
    except (ValueError, AttributeError):
        return [], "`pulumi stack export` printed no state"
    in_state = {
        str(item.get("urn", "")).rsplit("::", 1)[-1]
        for item in resources
        if isinstance(item, dict) and str(item.get("urn", "")).split("::")[-2:-1] == [COMPONENT]
    }
    return sorted(set(old) & in_state), None


def decide(
    stack: str, project_dir: Path, environ: Mapping[str, str], *, run: Runner = subprocess.run
) -> tuple[bool, str]:
    """``(runs, why)``: whether refreshes may run the program, and why not."""
    pending, problem = pending_moves(stack, project_dir, environ, run=run)
    if problem:
        return False, (
            f"refreshes of stack '{stack}' do not run the program: its stack file lists "
            f"previousResourceNames and {problem}."
        )
    if pending:
        return False, (
            f"refreshes of stack '{stack}' do not run the program until its next `up` renames "
            f"{', '.join(repr(name) for name in pending)} (previousResourceNames): Pulumi's "
            f"engine fails on a refresh that runs the program before such a rename."
        )
    return True, ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.refresh_mode")
    parser.add_argument("--stack", required=True)
    parser.add_argument("--project-dir", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)
    runs, why = decide(args.stack, args.project_dir, os.environ)
    if why:
        print(f"level-ilert: {why}", file=sys.stderr)
    print("true" if runs else "false")
    return 0


if __name__ == "__main__":
    sys.exit(main())
