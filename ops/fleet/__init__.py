"""``python -m ops fleet up|preview|drift|destroy``: every stack of the project in one command.

An MSP or a team with one stack per environment or client asks "which of my stacks
drifted, and which are broken?". This runs one action on many stacks at once with Pulumi's
Automation API (a ``LocalWorkspace`` on the project directory per stack), at most
``--parallel`` at a time, shows their progress, and ends with one summary table (or
``--json``) and one exit code: 0 clean, 7 some stack drifted, 2 some stack failed. One
stack's failure never stops the others.

Each stack runs as ``make <action> STACK=<stack>`` runs it: the same command, environment
and preflight mode (``make drift`` and the fleet's drift both accept a read-only Level key),
and a ``sandbox*`` stack is created on first use, its state folder too.

Modules: ``stacks`` (which stacks, and each one's backend and environment), ``shares``
(each stack's part of an API key it shares with other stacks run at once), ``overlap`` (no
Level alert paged twice across stacks: ``preview`` and ``up`` refuse a stack that would),
``run`` (one stack through the Automation API, its events folded into a ``StackState``),
``view`` (the live or plain progress), ``report`` (the summary and the exit code).

Stacks on one API key (same base URL and credential) divide its rate: pacing is per provider
process, so each stack that runs at the same time as others on its key gets its share in
``LEVEL_ILERT_RATE_SHARE`` (``shares``), and their sum stays under the API's limit. The
summary says which stacks shared a key, and at what share.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final, TextIO

from ops import renames
from ops.fleet import report
from ops.fleet.overlap import refusals
from ops.fleet.run import ACTIONS, Action, StackRun, StackState, first_sentence
from ops.fleet.shares import Plan, read_keys, share_rates
from ops.fleet.stacks import STATE_DIR, FleetError, Target, prepare_cli, select
from ops.fleet.view import LiveView, PlainView, View

DEFAULT_PARALLEL: Final = 4
HELP: Final = (
    "Run up, preview, drift or destroy on many stacks at once (Pulumi's Automation API). "
    "Exit codes: 0 every stack ran and none drifted; 7 some stack drifted (drift); 2 some "
    "stack failed or the fleet could not run."
)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``fleet`` subcommand of ``python -m ops``."""
    fleet = commands.add_parser("fleet", help=HELP, description=HELP)
    fleet.add_argument("action", choices=ACTIONS,
                       help="up: provision; preview: what up would change; drift: compare the "
                            "live APIs with each stack file; destroy: delete every resource")
    fleet.add_argument("--stacks", nargs="*", default=[], metavar="STACK",
                       help="stack names (default: every Pulumi.<stack>.yaml whose stack "
                            "exists on its backend)")
    fleet.add_argument("--parallel", type=int, default=DEFAULT_PARALLEL,
                       help=f"stacks run at once (default {DEFAULT_PARALLEL})")
    fleet.add_argument("--json", action="store_true", help="print the summary as JSON")
    fleet.add_argument("--yes", action="store_true", help="destroy without asking")
    fleet.add_argument("--project-dir", type=Path, default=Path.cwd(),
                       help="folder with Pulumi.yaml (default: here)")


def _confirm(names: Sequence[str], out: TextIO, answer: TextIO) -> bool:
    out.write(
        f"Destroy {len(names)} stack(s): {', '.join(names)}? This deletes their ilert alert "
        f"sources and Level webhooks (alerts stop reaching ilert). Type 'yes' to go on: "
    )
    out.flush()
    if not answer.isatty():
        out.write("\nNot destroyed: no terminal to answer on; confirm with --yes "
                  "(make fleet-destroy YES=1).\n")
        return False
    return answer.readline().strip().lower() == "yes"


def main(
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
    answer: TextIO,
    *,
    live: bool | None = None,
) -> int:
    """Run the fleet; returns its exit code."""
    action: Action = args.action
    project_dir = Path(args.project_dir).resolve()
    if args.parallel < 1:
        err.write("--parallel must be at least 1.\n")
        return report.EXIT_FAILED
    try:
        prepare_cli(project_dir)
        selection = select(project_dir, args.stacks, os.environ)
    except FleetError as error:
        err.write(f"{error}\n")
        return report.EXIT_FAILED
    if selection.missing:
        err.write(f"left out: {'; '.join(selection.missing)}\n")
    if not selection.targets:
        err.write(
            f"No stack of this project exists on {', '.join(selection.searched)}: create one "
            f"with `pulumi stack init <name>` (or `make up` for the sandbox stack).\n"
        )
        return report.EXIT_FAILED
    targets = selection.targets
    names = [target.name for target in targets]
    if action == "destroy" and not args.yes and not _confirm(names, err, answer):
        return report.EXIT_FAILED
    use_live = live if live is not None else (err.isatty() and not args.json)
    return _run(action, targets, project_dir, args, out=out, err=err, live=use_live)


def _run(
    action: Action,
    targets: list[Target],
    project_dir: Path,
    args: argparse.Namespace,
    *,
    out: TextIO,
    err: TextIO,
    live: bool,
) -> int:
    """Check, run every stack, and report; returns the exit code."""
    names = [target.name for target in targets]
    try:
        shares, refused = _before_running(action, targets, project_dir, args.parallel)
    except FleetError as error:
        err.write(f"{error}\n")
        return report.EXIT_FAILED
    if any(target.sandbox for target in targets):  # as `make up` makes it on a fresh clone
        (project_dir / STATE_DIR).mkdir(exist_ok=True)
    states = [StackState(name, action) for name in names]
    for state in states:
        if state.name in refused:
            state.error = first_sentence(refused[state.name])
            state.detail = refused[state.name]
            state.started = state.ended = time.monotonic()
    lock = threading.Lock()
    view: View = LiveView(err, states) if live else PlainView(err, states)
    with view:
        runs = [
            StackRun(state, project_dir=project_dir,
                     env={**target.env, **shares.env.get(target.name, {})},
                     on_change=view.changed, lock=lock,
                     create=target.sandbox and action != "destroy")
            for state, target in zip(states, targets, strict=True)
            if state.name not in refused
        ]
        if runs:
            with ThreadPoolExecutor(max_workers=min(args.parallel, len(runs))) as pool:
                list(pool.map(StackRun.run, runs))
    for run in runs:
        _explain_renames(run, project_dir)
    notes = shares.notes
    if args.json:
        report.dump(report.document(states, action, notes), out)
    else:
        report.render(states, action, out)
        report.details(states, out)
        for note in notes:
            out.write(f"note: {note}\n")
    return report.exit_code(states)


def _before_running(
    action: Action, targets: list[Target], project_dir: Path, parallel: int
) -> tuple[Plan, dict[str, str]]:
    """Each stack's rate share, and (preview, up) the stacks refused because they would page
    twice with another. Every stack's key is read once, for both."""
    checks_routing = action in ("preview", "up")
    keys = (
        read_keys(targets, project_dir, parallel, os.environ)
        if checks_routing or (len(targets) > 1 and parallel > 1) else None
    )
    shares = share_rates(targets, project_dir, parallel, os.environ, keys=keys)
    refused = refusals(targets, keys or [], project_dir, os.environ) if checks_routing else {}
    return shares, refused


def _explain_renames(run: StackRun, project_dir: Path) -> None:
    """A renamed integration the engine replaced (or would): the stack's note says so."""
    state = run.state
    if state.action not in ("preview", "up"):
        return
    names = renames.integration_names(project_dir / f"Pulumi.{state.name}.yaml")
    state.notes.extend(renames.explain(renames.steps_from_events(run.steps), names,
                                       done=state.action == "up" and not state.failed))
