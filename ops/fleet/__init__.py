"""``python -m ops fleet up|preview|drift|destroy``: every stack of the project in one command.

An MSP or a team with one stack per environment or client asks "which of my stacks
drifted, and which are broken?". This runs one action on many stacks at once with Pulumi's
Automation API (a ``LocalWorkspace`` on the project directory per stack), at most
``--parallel`` at a time, shows their progress, and ends with one summary table (or
``--json``) and one exit code: 0 clean, 7 some stack drifted, 2 some stack failed. One
stack's failure never stops the others.

Modules: ``stacks`` (which stacks, and each one's backend and environment), ``shares``
(each stack's part of an API key it shares with other stacks run at once), ``run`` (one
stack through the Automation API, its events folded into a ``StackState``), ``view`` (the
live or plain progress), ``report`` (the summary and the exit code).

Stacks on one API key (same base URL and credential) divide its rate: pacing is per provider
process, so each stack that runs at the same time as others on its key gets its share in
``LEVEL_ILERT_RATE_SHARE`` (``shares``), and their sum stays under the API's limit. The
summary says which stacks shared a key, and at what share.
"""

from __future__ import annotations

import argparse
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final, TextIO

from ops.fleet import report
from ops.fleet.run import ACTIONS, Action, StackRun, StackState
from ops.fleet.shares import share_rates
from ops.fleet.stacks import FleetError, prepare_cli, select
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
    names = [target.name for target in selection.targets]
    if action == "destroy" and not args.yes and not _confirm(names, err, answer):
        return report.EXIT_FAILED
    try:
        shares = share_rates(selection.targets, project_dir, args.parallel, os.environ)
    except FleetError as error:
        err.write(f"{error}\n")
        return report.EXIT_FAILED
    states = [StackState(name, action) for name in names]
    lock = threading.Lock()
    use_live = live if live is not None else (err.isatty() and not args.json)
    view: View = LiveView(err, states) if use_live else PlainView(err, states)
    with view:
        runs = [
            StackRun(state, project_dir=project_dir,
                     env={**target.env, **shares.env.get(target.name, {})},
                     on_change=view.changed, lock=lock)
            for state, target in zip(states, selection.targets, strict=True)
        ]
        with ThreadPoolExecutor(max_workers=min(args.parallel, len(runs))) as pool:
            list(pool.map(StackRun.run, runs))
    notes = shares.notes
    if args.json:
        report.dump(report.document(states, action, notes), out)
    else:
        report.render(states, action, out)
        for note in notes:
            out.write(f"note: {note}\n")
    return report.exit_code(states)
