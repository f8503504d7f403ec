"""A CLI killed in the middle of ``up`` makes no duplicate, and one command takes it all back.

With checkpoints on (Pulumi's default, and ``make``'s), the killed run leaves each create it
had under way as a pending operation in the state; with them skipped (``CHECKPOINTS=off``,
for large stacks), it leaves a state that knows nothing of the run. Either way, the next
``up`` finds every object the killed run made before it creates it, and refuses it, naming
its id and the one command that takes them back: ``make up ADOPT=1``, which clears the
pending creates (``pulumi refresh --clear-pending-creates``) and runs ``up`` with
``LEVEL_ILERT_ADOPT=1``. No file beside the state is kept for this.

The kill is a SIGKILL to the CLI alone (its provider process lives on and finishes what it
had sent, so the test waits and then stops it, as a user is told to) or to every process of
the command at once.

With checkpoints on, the kill can land inside a checkpoint write: on a ``file://`` backend
the state's metadata file (``<stack>.json.attrs``) is then left empty and the state file
whole, and every command, ``pulumi cancel`` included, stops with ``failed to load
checkpoint: EOF`` (bench/crash.py says why; 5 kills in 70 measured). The one way back
(docs/lifecycle.md, and what ``make up`` and ``make cancel`` print) deletes the empty file;
the story then goes on as above. The first test takes it when its kill lands there; the
last one puts the stack in that state every time.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from bench.cli import Project, project
from bench.crash import (
    DESTROY,
    SOURCE_TYPE,
    UNREADABLE,
    UP,
    WEBHOOK_TYPE,
    duplicates,
    metadata_file,
    state_ids,
    take_the_way_back,
    way_back,
    world,
)
from bench.engine import stack_config
from sandbox import Sandbox
from tools.cli_harness import REPO, cli_dir

INTEGRATIONS = 30
TIMEOUT_SECONDS = 300.0
ADOPT = {"LEVEL_ILERT_ADOPT": "1"}
CLEAR = ("refresh", "--clear-pending-creates", "--yes", "--skip-preview")


def _kill_up_at_half(sandbox: Sandbox, workspace: Project, *, kill_all: bool) -> set[str]:
    """A stack of INTEGRATIONS, an ``up`` SIGKILLed once half of its alert sources are made,
    its orphans let finish and then stopped; the ids of the alert sources it made."""
    workspace.new_stack(stack_config(sandbox, "off", 1.0), INTEGRATIONS)

    def half_created() -> bool:
        return sandbox.count("ilert", "POST", "/api/alert-sources") >= INTEGRATIONS // 2

    crashed = workspace.run(
        UP, timeout=TIMEOUT_SECONDS, kill_when=half_created, kill_group=kill_all
    )
    try:
        assert crashed.killed, crashed.tail()
        sandbox.wait_idle()
    finally:
        workspace.stop_leftovers(crashed)
    made = {str(source["id"]) for source in sandbox.ilert_alert_sources()}
    assert INTEGRATIONS // 2 <= len(made) < INTEGRATIONS
    assert not made <= state_ids(workspace)[SOURCE_TYPE]  # the state lost some of them
    return made


def _unlock_refuse_and_take_all_back(sandbox: Sandbox, workspace: Project, made: set[str]) -> None:
    """What the user runs after the kill: ``up`` (locked), ``cancel``, ``up`` (refused, naming
    ids and the one command), ``make up ADOPT=1``'s two commands, then ``destroy``."""
    locked = workspace.run(UP, timeout=TIMEOUT_SECONDS)
    if UNREADABLE in locked.output:  # the kill landed inside a checkpoint write: the way back
        take_the_way_back(workspace)
        locked = workspace.run(UP, timeout=TIMEOUT_SECONDS)
    assert locked.returncode != 0 and "pulumi cancel" in locked.output, locked.tail()
    assert workspace.run(("cancel", "--yes"), timeout=120).returncode == 0

    refused = workspace.run(UP, timeout=TIMEOUT_SECONDS)
    assert refused.returncode != 0
    assert duplicates(sandbox) == []
    lost = made - state_ids(workspace)[SOURCE_TYPE]
    # The engine stops at the first refusals: those it reached are named, each by id,
    # with the one command that takes back all of them.
    named = {source_id for source_id in lost if f"(id {source_id});" in refused.output}
    assert named, refused.tail()
    assert "`make up ADOPT=1` (LEVEL_ILERT_ADOPT=1 pulumi up)" in refused.output

    assert workspace.run(CLEAR, timeout=TIMEOUT_SECONDS).returncode == 0
    again = workspace.run(UP, timeout=TIMEOUT_SECONDS, extra_env=ADOPT)

    assert again.returncode == 0, again.tail()
    assert duplicates(sandbox) == []
    live = world(sandbox)
    held = state_ids(workspace)
    assert held[SOURCE_TYPE] == {str(source["id"]) for source in live[SOURCE_TYPE]}
    assert held[WEBHOOK_TYPE] == {str(hook["id"]) for hook in live[WEBHOOK_TYPE]}
    assert len(held[SOURCE_TYPE]) == len(held[WEBHOOK_TYPE]) == INTEGRATIONS
    assert lost <= held[SOURCE_TYPE]
    assert "pending_operations" not in workspace.state_file.read_text() or (
        '"pending_operations": []' in workspace.state_file.read_text()
    )

    assert workspace.run(DESTROY, timeout=TIMEOUT_SECONDS).returncode == 0
    assert world(sandbox) == {SOURCE_TYPE: [], WEBHOOK_TYPE: []}


@pytest.mark.parametrize(
    ("skip_checkpoints", "kill_all"),
    [(False, False), (True, True)],
    ids=["checkpoints-on-kill-the-cli", "checkpoints-off-kill-every-process"],
)
def test_a_cli_killed_mid_up_makes_no_duplicate_and_adopt_takes_all_back(
    skip_checkpoints: bool, kill_all: bool
) -> None:
    with Sandbox() as sandbox, project(
        sandbox, "crash", skip_checkpoints=skip_checkpoints
    ) as workspace:
        made = _kill_up_at_half(sandbox, workspace, kill_all=kill_all)
        _unlock_refuse_and_take_all_back(sandbox, workspace, made)


def _make(workspace: Project, target: str) -> subprocess.CompletedProcess[str]:
    """``make <target> STACK=<stack> BACKEND_URL=<its backend>`` in the project copy, as a
    user types it (the checkout's Makefile and tools linked in)."""
    for name in ("Makefile", "tools"):
        if not (workspace.copy.root / name).exists():
            (workspace.copy.root / name).symlink_to(REPO / name)
    env = {k: v for k, v in workspace.env().items() if not k.startswith("MAKE")}
    env.pop("PULUMI_BACKEND_URL", None)  # make passes BACKEND_URL itself
    return subprocess.run(
        [shutil.which("make") or "make", "--no-print-directory", "-s", "-C",
         str(workspace.copy.root), target, f"STACK={workspace.stack}",
         f"BACKEND_URL=file://{workspace.copy.backend}", f"PULUMI_DIR={cli_dir()}"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_a_kill_inside_a_checkpoint_write_is_undone_by_deleting_the_empty_metadata_file() -> None:
    with Sandbox() as sandbox, project(sandbox, "crash", skip_checkpoints=False) as workspace:
        made = _kill_up_at_half(sandbox, workspace, kill_all=False)
        # What the kill leaves when it lands between fileblob's create of the metadata file
        # and its write (bench/crash.py): the state file as it was, the metadata file empty.
        metadata = metadata_file(workspace)
        metadata.write_bytes(b"")
        saved = workspace.state_file.read_bytes()
        assert json.loads(saved)["checkpoint"]["latest"]["resources"]  # the state is whole

        for args in (UP, ("cancel", "--yes"), ("stack", "export")):
            stopped = workspace.run(args, timeout=TIMEOUT_SECONDS)
            assert stopped.returncode != 0 and UNREADABLE in stopped.output, stopped.tail()

        # make names the way back (where `stack` alone would say the stack was not found).
        command = f"rm '{metadata}'"
        for target in ("up", "cancel"):
            told = _make(workspace, target)
            assert told.returncode == 2, told.stdout + told.stderr
            assert f"Pulumi cannot load the state of stack '{workspace.stack}'" in told.stderr
            assert command in told.stderr, told.stderr
        # ... and the page it points to gives the same command.
        lifecycle = (REPO / "docs" / "lifecycle.md").read_text(encoding="utf-8")
        assert re.search(r"^rm \S+/\.pulumi/stacks/level-ilert/\S+\.json\.attrs$", lifecycle, re.M)
        assert way_back(workspace) == ("rm", str(metadata))

        take_the_way_back(workspace)
        assert not metadata.exists()
        assert workspace.state_file.read_bytes() == saved  # the checkpoint the kill left

        _unlock_refuse_and_take_all_back(sandbox, workspace, made)
