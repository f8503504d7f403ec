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
"""

from __future__ import annotations

import pytest

from bench.cli import project
from bench.crash import DESTROY, SOURCE_TYPE, UP, WEBHOOK_TYPE, duplicates, state_ids, world
from bench.engine import stack_config
from sandbox import Sandbox

INTEGRATIONS = 30
TIMEOUT_SECONDS = 300.0
ADOPT = {"LEVEL_ILERT_ADOPT": "1"}
CLEAR = ("refresh", "--clear-pending-creates", "--yes", "--skip-preview")


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

        locked = workspace.run(UP, timeout=TIMEOUT_SECONDS)
        assert locked.returncode != 0 and "pulumi cancel" in locked.output
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
