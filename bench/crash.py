"""``make crash-drill``: kill the real Pulumi CLI in the middle of an ``up``, run ``up``
again, and show that nothing was made twice and nothing was lost.

Steps, against the sandbox (pacing off) with N integrations (default 200) on a fresh stack:

1. ``pulumi up``, SIGKILLed once the sandbox has received ``--kill-at`` (default N/2)
   alert source creates: only the CLI (``--kill cli``: the program and the provider
   process are orphaned), or every process of the command at once (``--kill all``: a
   crash of the machine's session, a CI runner cancelled hard);
2. what the crash left: objects in the sandbox, resources in the state, processes still
   running (then stopped);
3. ``pulumi up`` again (after ``pulumi cancel``, since the killed CLI held the lock; and, when
   the kill landed inside a checkpoint write and Pulumi cannot load the state, after the way
   back docs/lifecycle.md gives: delete the stack's empty ``.attrs`` metadata file): it must
   end with no duplicate (one alert source per name, one webhook per URL), and with every
   object either in the state or named in the error together with the way out;
4. what ``make up ADOPT=1`` runs: ``pulumi refresh --clear-pending-creates`` and ``pulumi up``
   with ``LEVEL_ILERT_ADOPT=1``: it must take every object back, one per integration;
5. ``pulumi destroy``: nothing may be left.

Checkpoints follow the project's setting (``PULUMI_SKIP_CHECKPOINTS``); ``--checkpoints
on`` runs the same drill with the CLI's default for comparison. Exits 1 if a check fails.

Run: ``make crash-drill`` or ``venv/bin/python -m bench.crash --integrations 200``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.cli import Outcome, Project, project
from bench.engine import stack_config
from sandbox import Sandbox

SOURCE_TYPE = "pulumi-python:dynamic/ilert:AlertSource"
WEBHOOK_TYPE = "pulumi-python:dynamic/level:Webhook"
TIMEOUT_SECONDS = 1800.0
UP = ("up", "--yes", "--skip-preview")
DESTROY = ("destroy", "--yes", "--skip-preview")
CLEAR_PENDING = ("refresh", "--clear-pending-creates", "--yes", "--skip-preview")
ADOPT_ALL = {"LEVEL_ILERT_ADOPT": "1"}
SETTLE_SECONDS = 5.0  # time a killed CLI's orphans get to finish before they are counted
# A file:// backend keeps each state file's metadata in a file beside it, ``<file>.attrs``
# (gocloud.dev's fileblob, which Pulumi's DIY backend writes through). Saving a checkpoint
# writes the new state to a temporary file, then rewrites that metadata file in place (create,
# which empties it, then write), then renames the new state over the old one (fileblob.go,
# writerWithSidecar.Close; attrs.go, setAttrs). A kill between the create and the write
# leaves ``<stack>.json.attrs`` empty and the state file as it was: its last complete
# checkpoint. Every later command reads the metadata first (fileblob.go, forKey -> getAttrs),
# gets io.EOF from its JSON decoder, and stops with this line (Pulumi's
# pkg/backend/diy/state.go, stackExists and getSnapshot), ``pulumi cancel`` and ``pulumi stack
# import`` included. Measured with CLI 3.274.1, a SIGKILL to the CLI once 15 of 30 alert
# sources are made, on 2 shared cores: 5 kills in 70 (16 more left only the ``.bak``'s
# metadata file empty, which no command reads and the next checkpoint rewrites).
UNREADABLE = "failed to load checkpoint: EOF"


def state_ids(workspace: Project) -> dict[str, set[str]]:
    """Ids of the alert sources and webhooks the stack's state holds."""
    path = workspace.state_file
    ids: dict[str, set[str]] = {SOURCE_TYPE: set(), WEBHOOK_TYPE: set()}
    if not path.exists():
        return ids
    deployment = json.loads(path.read_text()).get("checkpoint", {}).get("latest") or {}
    for resource in deployment.get("resources") or []:
        if resource.get("type") in ids and resource.get("id"):
            ids[resource["type"]].add(str(resource["id"]))
    return ids


def metadata_file(workspace: Project) -> Path:
    """The state file's metadata file in the file backend (``<stack>.json.attrs``)."""
    return workspace.state_file.with_name(f"{workspace.state_file.name}.attrs")


def way_back(workspace: Project) -> tuple[str, ...]:
    """The one command docs/lifecycle.md (after a killed run) gives for a state Pulumi cannot
    load, and ``make up`` / ``make cancel`` print: delete the empty metadata file. fileblob
    reads a missing one as defaults, so Pulumi loads the state file, which the kill left
    whole."""
    return ("rm", str(metadata_file(workspace)))


def take_the_way_back(workspace: Project) -> None:
    """Run ``way_back`` (after a command stopped with ``UNREADABLE``). Raises when the
    metadata file is not empty: then the state is unreadable for another reason."""
    metadata = metadata_file(workspace)
    if not metadata.is_file() or metadata.stat().st_size:
        raise AssertionError(f"{UNREADABLE}, but {metadata} is not an empty file")
    subprocess.run(way_back(workspace), check=True, timeout=60)  # noqa: S603 (fixed command)


def world(sandbox: Sandbox) -> dict[str, list[dict[str, Any]]]:
    return {SOURCE_TYPE: sandbox.ilert_alert_sources(), WEBHOOK_TYPE: sandbox.level_webhooks()}


def duplicates(sandbox: Sandbox) -> list[str]:
    """Names with more than one alert source, URLs with more than one webhook (by id)."""
    found = []
    names = Counter(source["name"] for source in sandbox.ilert_alert_sources())
    found += [f"{count} alert sources named {name!r}" for name, count in names.items() if count > 1]
    urls: dict[str, list[str]] = {}
    for hook in sandbox.level_webhooks():
        urls.setdefault(hook["url"], []).append(hook["id"])
    found += [f"{len(ids)} webhooks to one URL (ids {', '.join(ids)})" for ids in urls.values()
              if len(ids) > 1]
    return found


def unaccounted(sandbox: Sandbox, workspace: Project, output: str) -> list[str]:
    """Objects neither in the state nor named (by id, with ``adopt: true``) in the output."""
    in_state = state_ids(workspace)
    missing = []
    for kind, objects in world(sandbox).items():
        for item in objects:
            object_id = str(item["id"])
            if object_id in in_state[kind]:
                continue
            named = f"id {object_id}" in output and "adopt: true" in output
            if not named:
                missing.append(f"{kind.rsplit('/', 1)[-1]} {object_id}")
    return missing


def summary(sandbox: Sandbox, workspace: Project) -> str:
    in_state = state_ids(workspace)
    live = world(sandbox)
    return (
        f"sandbox: {len(live[SOURCE_TYPE])} alert sources, {len(live[WEBHOOK_TYPE])} webhooks; "
        f"state: {len(in_state[SOURCE_TYPE])} alert sources, "
        f"{len(in_state[WEBHOOK_TYPE])} webhooks"
    )


def _show(title: str, outcome: Outcome) -> None:
    what = "killed" if outcome.killed else f"exit {outcome.returncode}"
    print(f"\n== {title}: {what} after {outcome.seconds:.1f} s")


def drill(integrations: int, kill_at: int, kill_all: bool, skip_checkpoints: bool) -> bool:
    """One drill; True when every check passed."""
    stack = "crash-drill"
    failures: list[str] = []
    with Sandbox() as sandbox, project(
        sandbox, stack, skip_checkpoints=skip_checkpoints
    ) as workspace:
        workspace.new_stack(stack_config(sandbox, "off", 1.0), integrations)
        print(
            f"{integrations} integrations, checkpoints "
            f"{'skipped' if skip_checkpoints else 'on'}; SIGKILL to "
            f"{'every process of the command' if kill_all else 'the CLI only'} after "
            f"{kill_at} alert source creates"
        )

        def enough_created() -> bool:
            return sandbox.count("ilert", "POST", "/api/alert-sources") >= kill_at

        crashed = workspace.run(
            UP,
            timeout=TIMEOUT_SECONDS,
            kill_when=enough_created,
            kill_group=kill_all,
        )
        _show("up", crashed)
        if not crashed.killed:
            failures.append("the first up ended before it could be killed: raise N")
        time.sleep(SETTLE_SECONDS)
        left = workspace.leftovers(crashed)
        print(f"   still running {SETTLE_SECONDS:g} s later: {', '.join(left) or 'nothing'}")
        sandbox.wait_idle()
        print(f"   {summary(sandbox, workspace)}")

        again = _up_again(workspace)
        _show("up again", again)
        print(f"   {summary(sandbox, workspace)}")
        if again.returncode != 0:
            print("   its errors:\n" + _errors(again.output))
        left = workspace.leftovers(crashed)
        print(f"   left by the killed CLI, still running: {', '.join(left) or 'nothing'}")
        workspace.stop_leftovers(crashed)
        failures += duplicates(sandbox)
        lost = unaccounted(sandbox, workspace, again.output)
        if lost:
            failures.append(f"neither in state nor named in the error: {', '.join(lost[:10])}")
        if again.returncode != 0:  # the one command the error names
            again = _adopt_all(sandbox, workspace)
            failures += duplicates(sandbox)
        failures += _one_of_each(sandbox, workspace, again, integrations)

        gone = workspace.run(DESTROY, timeout=TIMEOUT_SECONDS)
        _show("destroy", gone)
        live = world(sandbox)
        leftover = len(live[SOURCE_TYPE]) + len(live[WEBHOOK_TYPE])
        print(f"   {summary(sandbox, workspace)}")
        if again.returncode == 0 and leftover:
            failures.append(f"{leftover} objects left after destroy")
    for failure in failures:
        print(f"FAILED: {failure}")
    if not failures:
        print("\nPASSED: no duplicate; what the killed run made was named, and taken back by "
              "the one command")
    return not failures


def _up_again(workspace: Project) -> Outcome:
    """``up`` after the kill, as a user runs it: when Pulumi cannot load the state (the kill
    landed inside a checkpoint write), the documented way back first; when the stack is
    locked (the killed CLI could not release it), ``pulumi cancel`` first."""
    again = workspace.run(UP, timeout=TIMEOUT_SECONDS)
    if UNREADABLE in again.output:
        _show("up again", again)
        print("   " + _errors(again.output, 1).strip())
        take_the_way_back(workspace)
        print(f"   the state's metadata file was empty: {' '.join(way_back(workspace))}")
        again = workspace.run(UP, timeout=TIMEOUT_SECONDS)
    if "currently locked" in again.output:
        _show("up again", again)
        print("   " + _errors(again.output, 1).strip())
        cancel = workspace.run(("cancel", "--yes"), timeout=120)
        _show("pulumi cancel --yes", cancel)
        again = workspace.run(UP, timeout=TIMEOUT_SECONDS)
    return again


def _adopt_all(sandbox: Sandbox, workspace: Project) -> Outcome:
    """What ``make up ADOPT=1`` runs: clear the killed run's pending creates, then ``up``
    taking over every object it finds."""
    cleared = workspace.run(CLEAR_PENDING, timeout=TIMEOUT_SECONDS)
    _show("pulumi refresh --clear-pending-creates", cleared)
    again = workspace.run(UP, timeout=TIMEOUT_SECONDS, extra_env=ADOPT_ALL)
    _show("up with LEVEL_ILERT_ADOPT=1 (make up ADOPT=1)", again)
    print(f"   {summary(sandbox, workspace)}")
    return again


def _one_of_each(
    sandbox: Sandbox, workspace: Project, last: Outcome, integrations: int
) -> list[str]:
    """What is wrong once the last ``up`` ran: it failed, or left not exactly one object per
    integration in the sandbox and in the state."""
    if last.returncode != 0:
        return ["make up ADOPT=1 did not take every object back"]
    failures = []
    live = world(sandbox)
    held = state_ids(workspace)
    if len(live[SOURCE_TYPE]) != integrations or len(live[WEBHOOK_TYPE]) != integrations:
        failures.append("the up succeeded without one object per integration")
    if len(held[SOURCE_TYPE]) != integrations or len(held[WEBHOOK_TYPE]) != integrations:
        failures.append("the up succeeded without every object in the state")
    return failures


def _errors(output: str, lines: int = 12) -> str:
    wanted = [line for line in output.splitlines() if "error" in line.lower() or "adopt" in line]
    return "\n".join(f"     {line.strip()[:200]}" for line in wanted[:lines])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.crash", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--integrations", type=int, default=200)
    parser.add_argument("--kill-at", type=int, help="alert source creates before the kill")
    parser.add_argument("--kill", choices=("cli", "all"), default="cli")
    parser.add_argument("--checkpoints", choices=("project", "on", "off"), default="project")
    args = parser.parse_args(argv)
    if args.checkpoints == "project":
        skip = os.environ.get("PULUMI_SKIP_CHECKPOINTS", "").lower() in ("1", "true")
    else:
        skip = args.checkpoints == "off"
    kill_at = args.kill_at or args.integrations // 2
    passed = drill(args.integrations, kill_at, args.kill == "all", skip)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
