"""A CLI killed in the middle of ``up`` makes no duplicate on the next ``up``, and loses nothing.

``make`` runs every command with Pulumi's intermediate checkpoints skipped (README "Scale"),
so a CLI that dies mid-``up`` leaves a state that knows none of what it created. The next
``up`` finds each of those objects before creating it, and the journal of this stack's
creates (providers/journal.py) proves they are this stack's own: they are taken back, not
made twice, and not refused. The kill is a SIGKILL to the CLI alone (its provider process
lives on and finishes what it had sent) or to every process of the command at once.
"""

from __future__ import annotations

import pytest

from bench.cli import project
from bench.crash import DESTROY, SOURCE_TYPE, UP, WEBHOOK_TYPE, duplicates, state_ids, world
from bench.engine import stack_config
from sandbox import Sandbox

INTEGRATIONS = 40
TIMEOUT_SECONDS = 300.0


@pytest.mark.parametrize("kill_all", [False, True], ids=["the-cli", "every-process"])
def test_a_cli_killed_mid_up_makes_no_duplicate_and_the_next_up_takes_all_back(
    kill_all: bool,
) -> None:
    with Sandbox() as sandbox, project(sandbox, "crash", skip_checkpoints=True) as workspace:
        workspace.new_stack(stack_config(sandbox, "off", 1.0), INTEGRATIONS)

        def half_created() -> bool:
            return sandbox.count("ilert", "POST", "/api/alert-sources") >= INTEGRATIONS // 2

        crashed = workspace.run(
            UP, timeout=TIMEOUT_SECONDS, kill_when=half_created, kill_group=kill_all
        )
        try:
            assert crashed.killed, crashed.tail()
            made = len(sandbox.ilert_alert_sources())
            assert INTEGRATIONS // 2 <= made < INTEGRATIONS
            assert state_ids(workspace)[SOURCE_TYPE] == set()  # the state knows none of them

            locked = workspace.run(UP, timeout=TIMEOUT_SECONDS)
            assert locked.returncode != 0 and "pulumi cancel" in locked.output
            assert workspace.run(("cancel", "--yes"), timeout=120).returncode == 0
            again = workspace.run(UP, timeout=TIMEOUT_SECONDS)
        finally:
            workspace.stop_leftovers(crashed)

        assert again.returncode == 0, again.tail()
        assert duplicates(sandbox) == []
        live = world(sandbox)
        held = state_ids(workspace)
        assert held[SOURCE_TYPE] == {str(source["id"]) for source in live[SOURCE_TYPE]}
        assert held[WEBHOOK_TYPE] == {str(hook["id"]) for hook in live[WEBHOOK_TYPE]}
        assert len(held[SOURCE_TYPE]) == len(held[WEBHOOK_TYPE]) == INTEGRATIONS

        assert workspace.run(DESTROY, timeout=TIMEOUT_SECONDS).returncode == 0
        assert world(sandbox) == {SOURCE_TYPE: [], WEBHOOK_TYPE: []}
